// The ingest wire: the inputs of the procedures the capture paths call (JupyterLab frontend
// and kernel side), as zod schemas, and the limits in them. zod only, no server module, so a
// client can take its types from here (`import type … from '@cellmark/server/wire'`, erased
// at build) and they cannot drift from what the server parses. The contract in prose is
// docs/ingest-api.md; the procedures are trpc/routers/ingest.ts.
import { z } from 'zod';

/** integer columns (execution_count, position) */
const INT4_MAX = 2 ** 31 - 1;
export const MAX_NAME_CHARS = 200;
export const MAX_TAGS = 50;
export const MAX_TAG_CHARS = 64;
export const MAX_NOTES_CHARS = 64 * 1024;
export const MIN_CLIENT_KEY_CHARS = 8;
export const MAX_CLIENT_KEY_CHARS = 200;
/** A metric, summary or config key (checked in domain/metrics/ingest.ts and domain/executions.ts). */
export const MAX_KEY_CHARS = 250;
/** A summary's text value. */
export const MAX_SUMMARY_TEXT = 1000;

const isoDate = z.iso.datetime({ offset: true }).transform((s) => new Date(s));
const text = z.string();
const mimeBundle = z.record(z.string(), z.unknown());

export const output = z.discriminatedUnion('output_type', [
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

const runId = z.uuid();
/** A run's tags as every procedure that sets them takes them (updateRun here, the web's runs.update). */
export const runTags = z.array(z.string().trim().min(1).max(MAX_TAG_CHARS)).max(MAX_TAGS);

export const startRunInput = z.object({
  project: z.string().min(3).max(200),
  clientKey: z.string().min(MIN_CLIENT_KEY_CHARS).max(MAX_CLIENT_KEY_CHARS),
  notebookPath: z.string().min(1).max(4096),
  kernelName: z.string().max(200).nullish(),
  host: z.string().max(255).nullish(),
  name: z.string().min(1).max(MAX_NAME_CHARS).nullish(),
  startedAt: isoDate,
  previousRunId: runId.nullish(),
});

/** Each cell is parsed on its own by the procedure (cellInput), with turns of the event loop between cells. */
export const cellsInput = z.object({
  runId,
  origin: z.enum(['kernel', 'frontend']).default('frontend'),
  cells: z.array(z.custom<z.input<typeof cellInput>>()),
});

export const endRunInput = z.object({ runId, status: z.enum(['finished', 'crashed']), endedAt: isoDate });

export const updateRunInput = z.object({
  runId,
  name: z.string().trim().min(1).max(MAX_NAME_CHARS).optional(),
  tags: runTags.optional(),
  addTags: runTags.optional(),
  removeTags: runTags.optional(),
  notes: z.string().max(MAX_NOTES_CHARS).optional(),
});

export const metricsInput = z.object({
  runId,
  // [{ key, step, value, time }]: checked by parsePoints, a loop ~10× cheaper than a per-point schema
  points: z.array(z.unknown()),
});

export const summaryInput = z.object({
  runId,
  set: z.record(z.string(), z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity']), z.string(), z.boolean(), z.null()])).optional(),
  unset: z.array(z.string()).optional(),
});

export const heartbeatInput = z.object({ runId, at: isoDate.optional() });

export const kernelHelloInput = z.looseObject({
  runId,
  language: z.string().max(100),
  implementation: z.string().max(200).optional(),
  cellmarkVersion: z.string().max(50).optional(),
});

export const environmentInput = z.object({ runId, environment: z.record(z.string(), z.unknown()) });

export type OutputInput = z.input<typeof output>;
export type CellInput = z.input<typeof cellInput>;
export type StartRunInput = z.input<typeof startRunInput>;
export type CellsInput = z.input<typeof cellsInput>;
export type EndRunInput = z.input<typeof endRunInput>;
export type UpdateRunInput = z.input<typeof updateRunInput>;
