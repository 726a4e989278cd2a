// What the capture paths call (JupyterLab frontend and kernel side), authenticated by API
// token. Their inputs are wire.ts; the contract is docs/ingest-api.md.
import { TRPCError } from '@trpc/server';
import { ZodRealError, type z } from 'zod';
import { DomainError } from '../../domain/errors.ts';
import { ingestExecutions, requireWellFormed, withoutNul, yieldToLoop } from '../../domain/executions.ts';
import { ingestMetrics, parsePoints, setSummary } from '../../domain/metrics/ingest.ts';
import { endRun, heartbeat, kernelHello, setEnvironment, startRun, updateRun } from '../../domain/runs.ts';
import {
  cellInput,
  cellsInput,
  endRunInput,
  environmentInput,
  heartbeatInput,
  kernelHelloInput,
  metricsInput,
  startRunInput,
  summaryInput,
  updateRunInput,
} from '../../wire.ts';
import { router, tokenProcedure } from '../init.ts';

/**
 * The cells of a batch checked one at a time: as one schema over the whole input, 500 cells
 * of 40 outputs held the event loop ~100 ms. Errors name every bad field, as the schema did.
 */
async function parseCells(raw: unknown[], maxCells: number) {
  if (raw.length > maxCells) throw new DomainError('INVALID_INPUT', `cells: ${raw.length} cells in one batch, over the limit of ${maxCells}`);
  const cells: z.output<typeof cellInput>[] = [];
  const issues: z.core.$ZodIssue[] = [];
  for (const [i, cell] of raw.entries()) {
    if (i % 20 === 0) await yieldToLoop();
    const parsed = cellInput.safeParse(cell);
    if (parsed.success) cells.push(parsed.data);
    else issues.push(...parsed.error.issues.map((issue) => ({ ...issue, path: ['cells', i, ...issue.path] })));
  }
  if (issues.length) throw new TRPCError({ code: 'BAD_REQUEST', cause: new ZodRealError(issues) }); // the Error subclass safeParse hands out
  return cells;
}

export const ingestRouter = router({
  whoami: tokenProcedure.query(({ ctx }) => ({ user: ctx.user })),

  startRun: tokenProcedure.input(startRunInput).mutation(({ ctx, input }) => startRun(ctx.db, ctx.actor, input)),

  cells: tokenProcedure.input(cellsInput).mutation(async ({ ctx, input }) => {
    const cells = await parseCells(input.cells, ctx.limits.maxCellsPerBatch);
    return ingestExecutions(ctx.db, ctx.blobs, ctx.actor, { ...input, cells }, ctx.limits);
  }),

  endRun: tokenProcedure.input(endRunInput).mutation(({ ctx, input }) => endRun(ctx.db, ctx.actor, input)),

  updateRun: tokenProcedure.input(updateRunInput).mutation(({ ctx, input }) => updateRun(ctx.db, ctx.actor, input)),

  /** Metric points: idempotent on (run, key, step); a batch is all or nothing. */
  metrics: tokenProcedure
    .input(metricsInput)
    .mutation(({ ctx, input }) => ingestMetrics(ctx.db, ctx.actor, { runId: input.runId, points: parsePoints(input.points) }, ctx.metricLimits)),

  summary: tokenProcedure.input(summaryInput).mutation(({ ctx, input }) => setSummary(ctx.db, ctx.actor, input, ctx.metricLimits)),

  heartbeat: tokenProcedure.input(heartbeatInput).mutation(({ ctx, input }) => heartbeat(ctx.db, ctx.actor, input)),

  kernelHello: tokenProcedure.input(kernelHelloInput).mutation(({ ctx, input: { runId: id, ...info } }) => {
    requireWellFormed(info, 'input');
    return kernelHello(ctx.db, ctx.actor, { runId: id, info: withoutNul(info) });
  }),

  environment: tokenProcedure.input(environmentInput).mutation(({ ctx, input }) => {
    requireWellFormed(input.environment, 'environment');
    return setEnvironment(ctx.db, ctx.actor, { ...input, environment: withoutNul(input.environment) });
  }),
});
