ALTER TYPE "public"."cell_status" ADD VALUE 'running' BEFORE 'ok';--> statement-breakpoint
ALTER TYPE "public"."cell_status" ADD VALUE 'interrupted';--> statement-breakpoint
CREATE TABLE "run_blobs" (
	"run_id" uuid NOT NULL,
	"sha256" text NOT NULL,
	"size" bigint NOT NULL,
	"media_type" text NOT NULL,
	CONSTRAINT "run_blobs_run_id_sha256_pk" PRIMARY KEY("run_id","sha256")
);
--> statement-breakpoint
CREATE TABLE "run_config" (
	"run_id" uuid NOT NULL,
	"execution_key" text NOT NULL,
	"key" text NOT NULL,
	"value" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "run_config_run_id_execution_key_key_pk" PRIMARY KEY("run_id","execution_key","key")
);
--> statement-breakpoint
ALTER TABLE "run_cells" ALTER COLUMN "ended_at" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "run_cells" ADD COLUMN "position" integer;--> statement-breakpoint
ALTER TABLE "run_cells" ADD COLUMN "captured_by" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "tags" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "notes" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "config" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "environment" jsonb;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "kernel" jsonb;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "last_activity_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "run_blobs" ADD CONSTRAINT "run_blobs_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "run_config" ADD CONSTRAINT "run_config_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "runs_running_activity_idx" ON "runs" USING btree ("last_activity_at") WHERE "runs"."status" = 'running';--> statement-breakpoint
CREATE INDEX "runs_tags_idx" ON "runs" USING gin ("tags");