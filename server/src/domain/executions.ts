// Ingest of executions from both capture paths: validated as a whole batch, binary and
// large outputs moved to blobs, then merged row by row in one transaction (all or nothing).
import { isDeepStrictEqual } from 'node:util';
import { and, type Db, eq, inArray, projectConfigKeys, reportImages, resultRows, runBlobs, runCells, runConfig, runs, sql } from '@cellmark/db';
import type { BlobStore } from '../blobs/store.ts';
import { MAX_KEY_CHARS } from '../wire.ts';
import { DomainError } from './errors.ts';
import { type ExecutionRecord, type MergedExecution, mergeExecution, type Origin } from './execution-merge.ts';
import { type PendingBlob, planOutputs } from './outputs.ts';
import { type Actor, requireRun } from './policy.ts';

export interface IngestLimits {
  maxSourceBytes: number;
  maxOutputBytes: number;
  maxCellsPerBatch: number;
  /** outputs values above this go to the blob store */
  outputInlineBytes: number;
}

export const CONFIG_LIMITS = { keyChars: MAX_KEY_CHARS, valueBytes: 4096, keysPerExecution: 1000 } as const;

const byteLength = (s: string) => Buffer.byteLength(s, 'utf8');
const mib = (n: number) => `${(n / 1024 / 1024).toFixed(n < 1024 * 1024 ? 3 : 1)} MiB`;

/** Lets timers and other requests run between the pieces of a large batch's work. */
export const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Checks a whole batch before anything is written, naming the offending field. One cell's
 * checks cost up to ~10 ms at the 8 MiB output limit: it yields between cells, so a 500-cell
 * batch never holds the event loop for the whole batch.
 */
export async function validateExecutions(cells: ExecutionRecord[], limits: IngestLimits): Promise<void> {
  if (cells.length > limits.maxCellsPerBatch) {
    throw new DomainError('INVALID_INPUT', `cells: ${cells.length} cells in one batch, over the limit of ${limits.maxCellsPerBatch}`);
  }
  for (const [i, cell] of cells.entries()) {
    if (i) await yieldToLoop();
    const sourceBytes = byteLength(cell.source);
    if (sourceBytes > limits.maxSourceBytes) {
      throw new DomainError(
        'INVALID_INPUT',
        `cells.${i}.source: ${mib(sourceBytes)}, over the limit of ${mib(limits.maxSourceBytes)} (CELLMARK_MAX_SOURCE_BYTES)`,
      );
    }
    const outputBytes = byteLength(JSON.stringify(cell.outputs ?? []));
    if (outputBytes > limits.maxOutputBytes) {
      throw new DomainError(
        'INVALID_INPUT',
        `cells.${i}.outputs: ${mib(outputBytes)}, over the limit of ${mib(limits.maxOutputBytes)} (CELLMARK_MAX_OUTPUT_BYTES)`,
      );
    }
    if (cell.endedAt && cell.endedAt < cell.startedAt) throw new DomainError('INVALID_INPUT', `cells.${i}.endedAt: before startedAt`);
    if (cell.status !== 'running' && !cell.endedAt) throw new DomainError('INVALID_INPUT', `cells.${i}.endedAt: required unless status is running`);
    const config = Object.entries(cell.config ?? {});
    if (config.length > CONFIG_LIMITS.keysPerExecution) {
      throw new DomainError('INVALID_INPUT', `cells.${i}.config: ${config.length} keys, over the limit of ${CONFIG_LIMITS.keysPerExecution}`);
    }
    for (const [key, value] of config) {
      if (!key.length || key.length > CONFIG_LIMITS.keyChars) {
        throw new DomainError('INVALID_INPUT', `cells.${i}.config: key "${key.slice(0, 40)}…" must be 1–${CONFIG_LIMITS.keyChars} characters`);
      }
      const size = byteLength(JSON.stringify(value) ?? '');
      if (value === undefined || size > CONFIG_LIMITS.valueBytes) {
        throw new DomainError('INVALID_INPUT', `cells.${i}.config.${key}: value must be JSON of at most ${CONFIG_LIMITS.valueBytes} bytes`);
      }
    }
    const bad = malformedStringPath({ source: cell.source, outputs: cell.outputs, error: cell.error, config: cell.config }, `cells.${i}`);
    if (bad) throw new DomainError('INVALID_INPUT', `${bad}: not valid Unicode (unpaired surrogate)`);
  }
}

/** JSON can carry lone surrogates ("\\ud800") that no UTF-8 column can store faithfully. */
export function requireWellFormed(value: unknown, at: string): void {
  const bad = malformedStringPath(value, at);
  if (bad) throw new DomainError('INVALID_INPUT', `${bad}: not valid Unicode (unpaired surrogate)`);
}

function malformedStringPath(value: unknown, at: string): string | null {
  if (typeof value === 'string') return value.isWellFormed() ? null : at;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bad = malformedStringPath(value[i], `${at}.${i}`);
      if (bad) return bad;
    }
    return null;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const bad = malformedStringPath(k, `${at}.${k}`) ?? malformedStringPath(v, `${at}.${k}`);
      if (bad) return bad;
    }
  }
  return null;
}

/** Postgres text and jsonb cannot hold U+0000; keep the rest of the text intact. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching U+0000 is the point
const NUL = /\u0000/g;
export function withoutNul<T>(value: T): T {
  if (typeof value === 'string') return value.replace(NUL, '\uFFFD') as T;
  if (Array.isArray(value)) return value.map(withoutNul) as T;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [withoutNul(k), withoutNul(v)])) as T;
  }
  return value;
}

/**
 * Rows per insert are capped by size: postgres.js builds a statement's parameters in one
 * synchronous step, and 500 cells of ~50 KB outputs in one statement held the event loop
 * for ~500 ms.
 */
const STATEMENT_BYTES = 1024 * 1024;

function* bySize(cells: MergedExecution[], maxBytes: number): Generator<MergedExecution[]> {
  let rows: MergedExecution[] = [];
  let bytes = 0;
  for (const cell of cells) {
    const size = cell.source.length + JSON.stringify(cell.outputs ?? []).length + JSON.stringify(cell.error ?? null).length;
    if (rows.length && bytes + size > maxBytes) {
      yield rows;
      rows = [];
      bytes = 0;
    }
    rows.push(cell);
    bytes += size;
  }
  if (rows.length) yield rows;
}

type CellRow = typeof runCells.$inferSelect;

function toMerged(row: CellRow): MergedExecution {
  return {
    executionKey: row.executionKey,
    cellId: row.cellId,
    executionCount: row.executionCount,
    position: row.position,
    source: row.source,
    outputs: row.outputs,
    status: row.status,
    error: row.error,
    startedAt: row.startedAt,
    endedAt: row.endedAt,
    capturedBy: row.capturedBy as Origin[],
    outputsFrom: row.outputsFrom,
  };
}

/** jsonb hands objects back with its own key order, so compare structurally. */
const same = (a: MergedExecution, b: MergedExecution) => isDeepStrictEqual(a, b);

export async function ingestExecutions(
  db: Db,
  blobs: BlobStore,
  actor: Actor,
  input: { runId: string; origin: Origin; cells: ExecutionRecord[] },
  limits: IngestLimits,
) {
  const { runId, origin } = input;
  await validateExecutions(input.cells, limits);
  const { run } = await requireRun(db, actor, runId, 'write');
  if (run.userId !== actor.userId) throw new DomainError('FORBIDDEN', 'cells can only be added to your own runs');
  if (!input.cells.length) return { accepted: 0 };

  // Every output is checked and every blob's digest known before the first blob is written.
  const pending: PendingBlob[] = [];
  const cells: ExecutionRecord[] = [];
  for (const [i, cell] of input.cells.entries()) {
    await yieldToLoop();
    const clean = withoutNul(cell);
    if (clean.outputs?.length) {
      await yieldToLoop();
      const { outputs, blobs: moved } = planOutputs(clean.outputs, limits.outputInlineBytes, `cells.${i}`);
      pending.push(...moved);
      cells.push({ ...clean, outputs });
    } else cells.push(clean);
  }
  const stored = [...new Map(pending.map(({ bytes: _, ...b }) => [b.sha256, b])).values()];
  const written = await writeBlobs(blobs, pending);

  try {
    return await storeExecutions(db, run.projectId, { runId, origin, cells, stored }, input.cells.length);
  } catch (error) {
    await removeUnreferenced(db, blobs, written);
    throw error;
  }
}

/** Writes the batch's blobs; answers the digests that were not in the store before. */
async function writeBlobs(blobs: BlobStore, pending: PendingBlob[]): Promise<string[]> {
  const created: string[] = [];
  const seen = new Set<string>();
  for (const blob of pending) {
    if (seen.has(blob.sha256)) continue;
    seen.add(blob.sha256);
    if ((await blobs.size(blob.sha256)) === null) created.push(blob.sha256);
    await blobs.put(blob.bytes);
  }
  return created;
}

/**
 * A batch that failed after writing its blobs takes back the ones it created and that no
 * run or report refers to (content-addressed: another run may hold the same bytes). Left
 * open: a concurrent batch that found the same bytes already stored (ours) and commits its
 * reference after this check would point at a removed file; that needs identical outputs
 * in two batches within milliseconds, one of which fails.
 */
export async function removeUnreferenced(db: Db, blobs: BlobStore, digests: string[]): Promise<void> {
  if (!digests.length) return;
  const list = `{${digests.join(',')}}`;
  const rows = resultRows<{ sha256: string }>(
    await db.execute(sql`
      select sha256 from ${runBlobs} where sha256 = any(${list}::text[])
      union select sha256 from ${reportImages} where sha256 = any(${list}::text[])`),
  );
  const referenced = new Set(rows.map((r) => r.sha256));
  for (const digest of digests) if (!referenced.has(digest)) await blobs.remove(digest);
}

async function storeExecutions(
  db: Db,
  projectId: string,
  { runId, origin, cells, stored }: { runId: string; origin: Origin; cells: ExecutionRecord[]; stored: Omit<PendingBlob, 'bytes'>[] },
  accepted: number,
) {
  let changed = 0;
  await db.transaction(async (tx) => {
    // One writer per run at a time: the kernel and the frontend may send the same execution at once.
    await tx.execute(sql`select 1 from ${runs} where ${runs.id} = ${runId} for update`);
    const keys = [...new Set(cells.map((c) => c.executionKey))];
    const existing = await tx
      .select()
      .from(runCells)
      .where(and(eq(runCells.runId, runId), inArray(runCells.executionKey, keys)));
    const before = new Map(existing.map((row) => [row.executionKey, toMerged(row)]));
    const after = new Map(before);
    for (const cell of cells) after.set(cell.executionKey, mergeExecution(after.get(cell.executionKey) ?? null, cell, origin));

    const fresh = [...after.values()].filter((m) => !before.has(m.executionKey));
    for (const rows of bySize(fresh, STATEMENT_BYTES)) {
      await yieldToLoop();
      await tx.insert(runCells).values(rows.map((m) => ({ runId, ...m })));
    }
    for (const merged of after.values()) {
      const old = before.get(merged.executionKey);
      if (!old || same(old, merged)) continue;
      await yieldToLoop();
      const { executionKey, ...fields } = merged;
      await tx
        .update(runCells)
        .set(fields)
        .where(and(eq(runCells.runId, runId), eq(runCells.executionKey, executionKey)));
    }
    changed = fresh.length + [...after.values()].filter((m) => before.has(m.executionKey) && !same(before.get(m.executionKey)!, m)).length;

    if (stored.length)
      await tx
        .insert(runBlobs)
        .values(stored.map((b) => ({ runId, ...b })))
        .onConflictDoNothing();

    // a JSON null goes in as jsonb 'null': drizzle writes a JS null as SQL NULL (the column is not null)
    const configRows = cells.flatMap((c) =>
      Object.entries(c.config ?? {}).map(([key, value]) => ({ runId, executionKey: c.executionKey, key, value: value === null ? sql`'null'::jsonb` : value })),
    );
    if (configRows.length) {
      const last = new Map(configRows.map((r) => [`${r.executionKey}\u0000${r.key}`, r]));
      await tx
        .insert(runConfig)
        .values([...last.values()])
        .onConflictDoUpdate({ target: [runConfig.runId, runConfig.executionKey, runConfig.key], set: { value: sql`excluded.value` } });
      await tx
        .insert(projectConfigKeys)
        .values([...new Set(configRows.map((r) => r.key))].map((key) => ({ projectId, key })))
        .onConflictDoNothing();
      await refreshRunConfig(tx as unknown as Db, runId);
    }
    await tx.update(runs).set({ lastActivityAt: sql`now()` }).where(eq(runs.id, runId));
  });
  return { accepted, changed };
}

/** runs.config = the last value of every key, in execution order. */
async function refreshRunConfig(db: Db, runId: string) {
  await db.execute(sql`
    update ${runs} set config = coalesce((
      select jsonb_object_agg(key, value) from (
        select distinct on (rc.key) rc.key, rc.value
        from ${runConfig} rc
        join ${runCells} c on c.run_id = rc.run_id and c.execution_key = rc.execution_key
        where rc.run_id = ${runId}
        order by rc.key, c.started_at desc, c.execution_count desc nulls last
      ) latest
    ), '{}'::jsonb)
    where ${runs.id} = ${runId}`);
}

/** Where each config key changed, in execution order, for the run page. */
export async function configHistory(db: Db, runId: string) {
  const rows = await db
    .select({
      key: runConfig.key,
      value: runConfig.value,
      executionKey: runConfig.executionKey,
      executionCount: runCells.executionCount,
      startedAt: runCells.startedAt,
    })
    .from(runConfig)
    .innerJoin(runCells, and(eq(runCells.runId, runConfig.runId), eq(runCells.executionKey, runConfig.executionKey)))
    .where(eq(runConfig.runId, runId))
    .orderBy(runConfig.key, runCells.startedAt);
  return rows;
}
