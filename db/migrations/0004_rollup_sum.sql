ALTER TABLE "metric_rollups" ADD COLUMN "sum" double precision;--> statement-breakpoint
UPDATE "metric_rollups" r SET "sum" = s.total FROM (
  SELECT p.run_id, p.key_id, l.level, floor(p.step / (8 ^ l.level))::bigint AS bucket,
         sum(p.value) FILTER (WHERE p.value NOT IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8)) AS total
  FROM "metric_points" p CROSS JOIN generate_series(1, 6) AS l(level)
  GROUP BY 1, 2, 3, 4
) s WHERE r.run_id = s.run_id AND r.key_id = s.key_id AND r.level = s.level AND r.bucket = s.bucket;
