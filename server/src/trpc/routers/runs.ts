// Runs as the web UI reads and edits them.
import { runStatuses } from '@cellmark/db';
import { z } from 'zod';
import { getRun, listRuns, MAX_RUNS_PAGE, updateRun } from '../../domain/runs.ts';
import { runTags } from '../../wire.ts';
import { router, sessionProcedure } from '../init.ts';

export const runsRouter = router({
  /** members only: a share link reads its report's runs through reportShares.runs */
  list: sessionProcedure
    .input(
      z.object({
        projectId: z.uuid(),
        filter: z
          .object({
            status: z.array(z.enum(runStatuses)).optional(),
            userId: z.string().optional(),
            notebook: z.string().max(500).optional(),
            tag: z.string().max(64).optional(),
            config: z
              .array(z.object({ key: z.string().min(1).max(250), value: z.unknown() }))
              .max(20)
              .optional(),
            /** only these runs (compare and charts look their chosen runs up by id) */
            runIds: z.array(z.uuid()).max(MAX_RUNS_PAGE).optional(),
          })
          .optional(),
        sort: z.object({ by: z.string().min(1).max(300), dir: z.enum(['asc', 'desc']) }).optional(),
        limit: z.number().int().min(1).max(MAX_RUNS_PAGE).optional(),
        offset: z.number().int().min(0).max(1_000_000).optional(),
      }),
    )
    .query(({ ctx, input: { projectId, filter, ...page } }) => listRuns(ctx.db, ctx.actor, projectId, filter, page)),
  get: sessionProcedure.input(z.object({ runId: z.uuid() })).query(({ ctx, input }) => getRun(ctx.db, ctx.actor, input.runId)),
  update: sessionProcedure
    .input(
      z.object({
        runId: z.uuid(),
        name: z.string().trim().min(1).max(200).optional(),
        tags: runTags.optional(),
        notes: z
          .string()
          .max(64 * 1024)
          .optional(),
      }),
    )
    .mutation(({ ctx, input }) => updateRun(ctx.db, ctx.actor, input)),
});
