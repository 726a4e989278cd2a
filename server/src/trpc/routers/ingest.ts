// What the JupyterLab extension (and later the kernel) calls, authenticated by API token.
import { z } from 'zod';
import { appendCells, endRun, startRun } from '../../domain/runs.ts';
import { router, tokenProcedure } from '../init.ts';

const isoDate = z.iso.datetime({ offset: true }).transform((s) => new Date(s));
const text = z.string();

const output = z.discriminatedUnion('output_type', [
  z.object({ output_type: z.literal('stream'), name: z.enum(['stdout', 'stderr']), text }),
  z.object({
    output_type: z.enum(['execute_result', 'display_data']),
    data: z.record(z.string(), z.unknown()),
    execution_count: z.number().int().nullish(),
  }),
  z.object({ output_type: z.literal('error'), ename: text, evalue: text, traceback: z.array(text) }),
]);

export const cellInput = z.object({
  executionKey: z.string().min(1).max(200),
  cellId: z.string().max(200).nullish(),
  executionCount: z.number().int().min(0).nullish(),
  source: text,
  outputs: z.array(output).max(10_000),
  status: z.enum(['ok', 'error', 'aborted']),
  error: z.object({ ename: text, evalue: text, traceback: z.array(text) }).nullish(),
  startedAt: isoDate,
  endedAt: isoDate,
});

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
      }),
    )
    .mutation(({ ctx, input }) => startRun(ctx.db, ctx.actor, input)),

  cells: tokenProcedure
    .input(z.object({ runId: z.uuid(), cells: z.array(cellInput) }))
    .mutation(({ ctx, input }) => appendCells(ctx.db, ctx.actor, input.runId, input.cells, ctx.limits)),

  endRun: tokenProcedure
    .input(z.object({ runId: z.uuid(), status: z.enum(['finished', 'crashed']), endedAt: isoDate }))
    .mutation(({ ctx, input }) => endRun(ctx.db, ctx.actor, input)),
});
