ALTER TABLE "run_cells" ADD COLUMN "outputs_from" text;--> statement-breakpoint
-- rows stored before the kernel sent outputs: only the frontend's could be there
UPDATE "run_cells" SET "outputs_from" = 'frontend' WHERE 'frontend' = ANY("captured_by");
