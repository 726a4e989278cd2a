// Chart data for the web UI.
import { z } from 'zod';
import { MAX_RUNS_PER_CHART, metricKeysOf, metricSeries } from '../../domain/metrics/series.ts';
import { router, sessionProcedure } from '../init.ts';

export const metricsRouter = router({
  keys: sessionProcedure
    .input(z.object({ projectId: z.uuid(), runIds: z.array(z.uuid()).max(MAX_RUNS_PER_CHART).optional() }))
    .query(({ ctx, input }) => metricKeysOf(ctx.db, ctx.actor, input)),
  series: sessionProcedure
    .input(
      z.object({
        projectId: z.uuid(),
        runIds: z.array(z.uuid()).min(1).max(MAX_RUNS_PER_CHART),
        key: z.string().min(1).max(250),
        xAxis: z.enum(['step', 'time']).optional(),
        range: z.tuple([z.number().int().min(0), z.number().int().min(0)]).optional(),
        width: z.number().int().min(1).max(10_000),
      }),
    )
    .query(({ ctx, input }) => metricSeries(ctx.db, ctx.actor, input)),
});
