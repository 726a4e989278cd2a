// Report history (versions) and view-only share links. Shapes documented in docs/reports.md.
import { z } from 'zod';
import { sharedChartRuns } from '../../domain/reports/share-reads.ts';
import { createShare, listShares, openShare, revokeShare } from '../../domain/reports/shares.ts';
import { createNamedVersion, getVersion, listVersions, restoreVersion } from '../../domain/reports/versions.ts';
import { publicProcedure, router, sessionProcedure, shareToken } from '../init.ts';

const reportId = z.uuid();
const versionRef = z.object({ reportId, versionId: z.uuid() });

export const reportHistoryRouter = router({
  /** newest first, without snapshots */
  list: sessionProcedure.input(z.object({ reportId })).query(({ ctx, input }) => listVersions(ctx.db, ctx.actor, input.reportId)),
  /** one version with its snapshot (base64 Yjs update) */
  get: sessionProcedure.input(versionRef).query(({ ctx, input }) => getVersion(ctx.db, ctx.actor, input)),
  /** a named version of the document as stored now */
  create: sessionProcedure
    .input(z.object({ reportId, name: z.string().trim().min(1).max(200) }))
    .mutation(({ ctx, input }) => createNamedVersion(ctx.db, ctx.actor, input)),
  /** makes the document look like the version again, as a new edit everyone receives */
  restore: sessionProcedure.input(versionRef).mutation(({ ctx, input }) => restoreVersion(ctx.db, ctx.actor, ctx.reportDocs, input)),
});

export const reportSharesRouter = router({
  create: sessionProcedure.input(z.object({ reportId })).mutation(({ ctx, input }) => createShare(ctx.db, ctx.actor, input.reportId)),
  list: sessionProcedure.input(z.object({ reportId })).query(({ ctx, input }) => listShares(ctx.db, ctx.actor, input.reportId)),
  revoke: sessionProcedure.input(z.object({ reportId, shareId: z.uuid() })).mutation(({ ctx, input }) => revokeShare(ctx.db, ctx.actor, input)),
  /** no account needed: what the shared page shows around the read-only document */
  open: publicProcedure.input(z.object({ token: z.string().min(1).max(200) })).query(({ ctx, input }) => openShare(ctx.db, input.token)),
  /**
   * no account needed: the runs the report's run charts show (id, name, status, start), or one
   * filter block's runs by its own settings; strict, so a filter or sort of the reader's own is
   * refused rather than silently dropped
   */
  runs: publicProcedure
    .input(z.strictObject({ token: shareToken, filter: z.string().max(4000).optional(), limit: z.number().int().min(1).max(1000).optional() }))
    .query(({ ctx, input: { token, ...ask } }) => sharedChartRuns(ctx.db, ctx.reportStore, token, ask)),
});
