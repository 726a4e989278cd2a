// What the capture paths call (JupyterLab frontend and kernel side), authenticated by API
// token. The contract is docs/ingest-api.md.
import { TRPCError } from '@trpc/server';
import { z, ZodRealError } from 'zod';
import { DomainError } from '../../domain/errors.ts';
import { ingestExecutions, requireWellFormed, withoutNul, yieldToLoop } from '../../domain/executions.ts';
import { ingestMetrics, parsePoints, setSummary } from '../../domain/metrics/ingest.ts';
import { endRun, heartbeat, kernelHello, runTags, setEnvironment, startRun, updateRun } from '../../domain/runs.ts';
import { router, tokenProcedure } from '../init.ts';

/** integer columns (execution_count, position) */
const INT4_MAX = 2 ** 31 - 1;
const isoDate = z.iso.datetime({ offset: true }).transform((s) => new Date(s));
const text = z.string();
const mimeBundle = z.record(z.string(), z.unknown());

const output = z.discriminatedUnion('output_type', [
  z.object({ output_type: z.literal('stream'), name: z.enum(['stdout', 'stderr']), text }),
  z.object({
    output_type: z.enum(['execute_result', 'display_data']),
    data: mimeBundle,
    metadata: mimeBundle.optional(),
    execution_count: z.number().int().nullish(),
  }),
  z.object({ output_type: z.literal('error'), ename: text, evalue: text, traceback: z.array(text) }),
]);

export const cellInput = z.object({
  executionKey: z.string().min(1).max(200),
  cellId: z.string().max(200).nullish(),
  executionCount: z.number().int().min(0).max(INT4_MAX).nullish(),
  position: z.number().int().min(0).max(INT4_MAX).nullish(),
  source: text,
  outputs: z.array(output).max(10_000).optional(),
  status: z.enum(['running', 'ok', 'error', 'aborted', 'interrupted']),
  error: z.object({ ename: text, evalue: text, traceback: z.array(text) }).nullish(),
  startedAt: isoDate,
  endedAt: isoDate.nullish(),
  config: z.record(z.string(), z.unknown()).optional(),
});

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

const runId = z.uuid();
export const ingestRouter = router({
  whoami: tokenProcedure.query(({ ctx }) => ({ user: ctx.user })),

  startRun: tokenProcedure
    .input(
      z.object({
        project: z.string().min(3).max(200),
        clientKey: z.string().min(8).max(200),
        notebookPath: z.string().min(1).max(4096),
        kernelName: z.string().max(200).nullish(),
        host: z.string().max(255).nullish(),
        name: z.string().min(1).max(200).nullish(),
        startedAt: isoDate,
        previousRunId: runId.nullish(),
      }),
    )
    .mutation(({ ctx, input }) => startRun(ctx.db, ctx.actor, input)),

  cells: tokenProcedure
    // each cell is parsed by parseCells, with turns of the event loop between cells
    .input(z.object({ runId, origin: z.enum(['kernel', 'frontend']).default('frontend'), cells: z.array(z.custom<z.input<typeof cellInput>>()) }))
    .mutation(async ({ ctx, input }) => {
      const cells = await parseCells(input.cells, ctx.limits.maxCellsPerBatch);
      return ingestExecutions(ctx.db, ctx.blobs, ctx.actor, { ...input, cells }, ctx.limits);
    }),

  endRun: tokenProcedure
    .input(z.object({ runId, status: z.enum(['finished', 'crashed']), endedAt: isoDate }))
    .mutation(({ ctx, input }) => endRun(ctx.db, ctx.actor, input)),

  updateRun: tokenProcedure
    .input(
      z.object({
        runId,
        name: z.string().trim().min(1).max(200).optional(),
        tags: runTags.optional(),
        addTags: runTags.optional(),
        removeTags: runTags.optional(),
        notes: z.string().max(64 * 1024).optional(),
      }),
    )
    .mutation(({ ctx, input }) => updateRun(ctx.db, ctx.actor, input)),

  /** Metric points: idempotent on (run, key, step); a batch is all or nothing. */
  metrics: tokenProcedure
    .input(
      z.object({
        runId,
        // [{ key, step, value, time }]: checked by parsePoints, a loop ~10× cheaper than a per-point schema
        points: z.array(z.unknown()),
      }),
    )
    .mutation(({ ctx, input }) => ingestMetrics(ctx.db, ctx.actor, { runId: input.runId, points: parsePoints(input.points) }, ctx.metricLimits)),

  summary: tokenProcedure
    .input(
      z.object({
        runId,
        set: z.record(z.string(), z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity']), z.string(), z.boolean(), z.null()])).optional(),
        unset: z.array(z.string()).optional(),
      }),
    )
    .mutation(({ ctx, input }) => setSummary(ctx.db, ctx.actor, input, ctx.metricLimits)),

  heartbeat: tokenProcedure.input(z.object({ runId, at: isoDate.optional() })).mutation(({ ctx, input }) => heartbeat(ctx.db, ctx.actor, input)),

  kernelHello: tokenProcedure
    .input(z.looseObject({ runId, language: z.string().max(100), implementation: z.string().max(200).optional(), cellmarkVersion: z.string().max(50).optional() }))
    .mutation(({ ctx, input: { runId: id, ...info } }) => {
      requireWellFormed(info, 'input');
      return kernelHello(ctx.db, ctx.actor, { runId: id, info: withoutNul(info) });
    }),

  environment: tokenProcedure
    .input(z.object({ runId, environment: z.record(z.string(), z.unknown()) }))
    .mutation(({ ctx, input }) => {
      requireWellFormed(input.environment, 'environment');
      return setEnvironment(ctx.db, ctx.actor, { ...input, environment: withoutNul(input.environment) });
    }),
});
