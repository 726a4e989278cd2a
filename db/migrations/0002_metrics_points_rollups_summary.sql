CREATE TABLE "metric_keys" (
	"id" serial PRIMARY KEY NOT NULL,
	"project_id" uuid NOT NULL,
	"key" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "metric_points" (
	"run_id" uuid NOT NULL,
	"key_id" integer NOT NULL,
	"step" bigint NOT NULL,
	"value" double precision NOT NULL,
	"time" timestamp with time zone NOT NULL,
	CONSTRAINT "metric_points_run_id_key_id_step_pk" PRIMARY KEY("run_id","key_id","step")
);
--> statement-breakpoint
CREATE TABLE "metric_rollups" (
	"run_id" uuid NOT NULL,
	"key_id" integer NOT NULL,
	"level" smallint NOT NULL,
	"bucket" bigint NOT NULL,
	"count" integer NOT NULL,
	"finite_count" integer NOT NULL,
	"min" double precision,
	"max" double precision,
	"last" double precision NOT NULL,
	"last_step" bigint NOT NULL,
	"first_time" timestamp with time zone NOT NULL,
	"last_time" timestamp with time zone NOT NULL,
	CONSTRAINT "metric_rollups_run_id_key_id_level_bucket_pk" PRIMARY KEY("run_id","key_id","level","bucket")
);
--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "summary" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "metric_keys" ADD CONSTRAINT "metric_keys_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "metric_points" ADD CONSTRAINT "metric_points_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "metric_rollups" ADD CONSTRAINT "metric_rollups_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "metric_keys_project_key_idx" ON "metric_keys" USING btree ("project_id","key");