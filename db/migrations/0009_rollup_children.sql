ALTER TABLE "metric_rollups" ADD COLUMN "children" "bytea";--> statement-breakpoint
-- existing rollups: each bucket of level 2 and up gets its children's records, in bucket order
UPDATE "metric_rollups" p SET "children" = (
  SELECT string_agg(c."packed", ''::bytea ORDER BY c."bucket") FROM "metric_rollups" c
  WHERE c."run_id" = p."run_id" AND c."key_id" = p."key_id" AND c."level" = p."level" - 1
    AND c."bucket" >= p."bucket" * 8 AND c."bucket" < p."bucket" * 8 + 8
) WHERE p."level" >= 2;
