CREATE TABLE "project_config_keys" (
	"project_id" uuid NOT NULL,
	"key" text NOT NULL,
	CONSTRAINT "project_config_keys_project_id_key_pk" PRIMARY KEY("project_id","key")
);
--> statement-breakpoint
ALTER TABLE "project_config_keys" ADD CONSTRAINT "project_config_keys_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
INSERT INTO "project_config_keys" ("project_id", "key") SELECT DISTINCT "project_id", jsonb_object_keys("config") FROM "runs" ON CONFLICT DO NOTHING;
