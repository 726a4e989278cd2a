ALTER TABLE "metric_points" DROP CONSTRAINT "metric_points_run_id_runs_id_fk";
--> statement-breakpoint
ALTER TABLE "metric_rollups" DROP CONSTRAINT "metric_rollups_run_id_runs_id_fk";
--> statement-breakpoint
CREATE FUNCTION "cellmark_delete_run_metrics"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "metric_points" WHERE "run_id" IN (SELECT "id" FROM gone);
  DELETE FROM "metric_rollups" WHERE "run_id" IN (SELECT "id" FROM gone);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "runs_delete_metrics" AFTER DELETE ON "runs" REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION "cellmark_delete_run_metrics"();
