// Report metadata; the content syncs over /collab/<reportId>.
import { z } from 'zod';
import { createReport, deleteReport, getReport, listDeletedReports, listReports, renameReport, restoreReport } from '../../domain/reports/reports.ts';
import { router, sessionProcedure } from '../init.ts';

const title = z
  .string({ error: 'a title is required' })
  .trim()
  .min(1, { error: 'the title must not be empty' })
  .max(200, { error: 'the title is at most 200 characters' })
  // Postgres text cannot hold half a UTF-16 surrogate pair (`"\ud800"` is valid JSON): a 500
  // (found by test/reports-fuzz.test.ts). NUL is refused for every procedure (trpc/init.ts).
  .refine((t) => !/\p{Cs}/u.test(t), { error: 'the title must be valid Unicode (it has an unpaired surrogate)' });
const reportId = z.object({ reportId: z.uuid({ error: 'not a report id' }) });
const projectId = z.object({ projectId: z.uuid({ error: 'not a project id' }) });

export const reportsRouter = router({
  list: sessionProcedure.input(projectId).query(({ ctx, input }) => listReports(ctx.db, ctx.actor, input.projectId)),
  trash: sessionProcedure.input(projectId).query(({ ctx, input }) => listDeletedReports(ctx.db, ctx.actor, input.projectId)),
  get: sessionProcedure.input(reportId).query(({ ctx, input }) => getReport(ctx.db, ctx.actor, input.reportId)),
  create: sessionProcedure.input(projectId.extend({ title })).mutation(({ ctx, input }) => createReport(ctx.db, ctx.actor, input)),
  rename: sessionProcedure.input(reportId.extend({ title })).mutation(({ ctx, input }) => renameReport(ctx.db, ctx.actor, input)),
  delete: sessionProcedure.input(reportId).mutation(({ ctx, input }) => deleteReport(ctx.db, ctx.actor, input.reportId)),
  restore: sessionProcedure.input(reportId).mutation(({ ctx, input }) => restoreReport(ctx.db, ctx.actor, input.reportId)),
});
