// Runs as the web UI reads them.
import { z } from 'zod';
import { getRun, listRuns } from '../../domain/runs.ts';
import { router, sessionProcedure } from '../init.ts';

export const runsRouter = router({
  list: sessionProcedure.input(z.object({ projectId: z.uuid() })).query(({ ctx, input }) => listRuns(ctx.db, ctx.actor, input.projectId)),
  get: sessionProcedure.input(z.object({ runId: z.uuid() })).query(({ ctx, input }) => getRun(ctx.db, ctx.actor, input.runId)),
});
