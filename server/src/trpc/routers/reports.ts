// Report metadata; the content syncs over /collab/<reportId>.
import { z } from 'zod';
import { createReport, getReport, listReports, renameReport } from '../../domain/reports.ts';
import { router, sessionProcedure } from '../init.ts';

const title = z.string().trim().min(1).max(200);

export const reportsRouter = router({
  list: sessionProcedure.input(z.object({ projectId: z.uuid() })).query(({ ctx, input }) => listReports(ctx.db, ctx.actor, input.projectId)),
  get: sessionProcedure.input(z.object({ reportId: z.uuid() })).query(({ ctx, input }) => getReport(ctx.db, ctx.actor, input.reportId)),
  create: sessionProcedure
    .input(z.object({ projectId: z.uuid(), title }))
    .mutation(({ ctx, input }) => createReport(ctx.db, ctx.actor, input)),
  rename: sessionProcedure
    .input(z.object({ reportId: z.uuid(), title }))
    .mutation(({ ctx, input }) => renameReport(ctx.db, ctx.actor, input)),
});
