// Chart data for the web UI.
import { z } from 'zod';
import { MAX_RUNS_PER_CHART, metricKeysOf, metricSeries } from '../../domain/metrics/series.ts';
import { sharedSeries } from '../../domain/reports/share-reads.ts';
import { publicProcedure, router, sessionActor, sessionProcedure, shareToken } from '../init.ts';

export const metricsRouter = router({
  keys: sessionProcedure
    .input(z.object({ projectId: z.uuid(), runIds: z.array(z.uuid()).max(MAX_RUNS_PER_CHART).optional() }))
    .query(({ ctx, input }) => metricKeysOf(ctx.db, ctx.actor, input)),
  /** members, or a report's share link (`share`) for the runs and keys its run charts show */
  series: publicProcedure
    .input(
      z.object({
        share: shareToken.optional(),
        projectId: z.uuid(),
        runIds: z.array(z.uuid()).min(1).max(MAX_RUNS_PER_CHART),
        key: z.string().min(1).max(250),
        xAxis: z.enum(['step', 'time']).optional(),
        range: z.tuple([z.number().int().min(0), z.number().int().min(0)]).optional(),
        width: z.number().int().min(1).max(10_000),
      }),
    )
    .query(async ({ ctx, input: { share, ...query } }) =>
      share ? sharedSeries(ctx.db, ctx.reportStore, share, query) : metricSeries(ctx.db, await sessionActor(ctx), query),
    ),
});
