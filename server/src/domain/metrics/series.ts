// Chart data at full fidelity: for each run, one bucket per pixel with finite min/max, the
// last value and a count, read from the coarsest rollup level that still resolves a pixel
// (raw points only when zoomed in far enough), aggregated in SQL.
import { and, copyOutBinary, type Db, eq, inArray, metricKeys, resultRows, runs, sql } from '@cellmark/db';
import { DomainError } from '../errors.ts';
import { type Actor, requireProject } from '../policy.ts';
import { bucketWidth, levelFor, ROLLUP_BASE, ROLLUP_LEVELS, stepsPerPixel } from './levels.ts';

export type XAxis = 'step' | 'time';

export interface SeriesQuery {
  projectId: string;
  runIds: string[];
  key: string;
  /** x-axis: logged step (default) or wall time (epoch ms) */
  xAxis?: XAxis | undefined;
  /** inclusive range in x-axis units; omitted: the runs' overall extent */
  range?: [number, number] | undefined;
  /** pixels across the chart */
  width: number;
}

export interface Series {
  runId: string;
  /** rollup level read for this run (0 = raw points) */
  level: number;
  /** columnar: pixel start (step, or epoch ms on the time axis), finite min and max (null: only non-finite values), last value (null for NaN, ±Infinity as strings), count */
  x: number[];
  min: (number | null)[];
  max: (number | null)[];
  last: (number | string | null)[];
  lastStep: number[];
  count: number[];
  /** how many of `count` were NaN or ±Infinity (drawn as gaps / markers) */
  nonFinite: number[];
}

export interface SeriesResult {
  xAxis: XAxis;
  /** the level read on the step axis (every run shares it); on the time axis the finest of the runs' levels */
  level: number;
  /** x-axis units per pixel: steps, or milliseconds on the time axis */
  perPixel: number;
  /** @deprecated the same as perPixel on the step axis */
  stepsPerPixel: number;
  range: [number, number] | null;
  series: Series[];
}

export const MAX_RUNS_PER_CHART = 100;

/** What to read for one run: `level` (0 = raw points) over steps (or buckets) [from, to]. */
interface RunPlan {
  runId: string;
  level: number;
  from: number;
  to: number;
}

/** Chart reads are split into this many queries over the runs, run at once on their own connections. */
const READ_PARALLELISM = 2;

export async function metricSeries(db: Db, actor: Actor, query: SeriesQuery): Promise<SeriesResult> {
  if (query.runIds.length > MAX_RUNS_PER_CHART) throw new DomainError('INVALID_INPUT', `runIds: at most ${MAX_RUNS_PER_CHART} runs per chart`);
  if (query.range && query.range[1] < query.range[0]) throw new DomainError('INVALID_INPUT', 'range: end before start');
  const xAxis = query.xAxis ?? 'step';
  // the access check, the key and the runs' project are independent reads: at once (nothing
  // is returned unless the access check passed)
  const [, [key], inProject] = await Promise.all([
    requireProject(db, actor, query.projectId, 'read'),
    db
      .select({ id: metricKeys.id })
      .from(metricKeys)
      .where(and(eq(metricKeys.projectId, query.projectId), eq(metricKeys.key, query.key))),
    db
      .select({ id: runs.id })
      .from(runs)
      .where(and(eq(runs.projectId, query.projectId), inArray(runs.id, query.runIds))),
  ]);
  if (inProject.length !== new Set(query.runIds).size) throw new DomainError('NOT_FOUND', 'runIds: some runs are not in this project');
  const empty = (runId: string): Series => ({ runId, level: 0, x: [], min: [], max: [], last: [], lastStep: [], count: [], nonFinite: [] });
  const nothing: SeriesResult = { xAxis, level: 0, perPixel: 1, stepsPerPixel: 1, range: null, series: query.runIds.map(empty) };
  if (!key || !query.runIds.length) return nothing;

  const runList = `{${query.runIds.join(',')}}`;
  const range = query.range ?? (xAxis === 'step' ? await stepExtent(db, runList, query.key, key.id) : await timeExtent(db, runList, key.id));
  if (!range) return nothing;
  const [x0, x1] = range;
  const perPx = stepsPerPixel(x0, x1, query.width);

  let plans: RunPlan[];
  let level: number;
  if (xAxis === 'step') {
    level = levelFor(perPx);
    const width = bucketWidth(level);
    plans = query.runIds.map((runId) =>
      level === 0 ? { runId, level, from: x0, to: x1 } : { runId, level, from: Math.floor(x0 / width), to: Math.floor(x1 / width) },
    );
  } else {
    plans = await timePlans(db, query.runIds, key.id, x0, x1, query.width);
    level = plans.length ? Math.min(...plans.map((p) => p.level)) : 0;
  }

  const byRun = new Map(query.runIds.map((id) => [id, empty(id)]));
  for (const plan of plans) byRun.get(plan.runId)!.level = plan.level;
  // one read per level (the step axis has one), split over the runs so that Postgres works on
  // them with several cores while the server folds the parts that came back; a run keeps
  // the records inside its own plan
  const parts = [...new Set(plans.map((p) => p.level))].flatMap((lv) =>
    split(
      plans.filter((p) => p.level === lv),
      READ_PARALLELISM,
    ),
  );
  await Promise.all(
    parts.map(async (part) => {
      const lv = part[0]!.level;
      const lo = Math.min(...part.map((p) => p.from));
      const hi = Math.max(...part.map((p) => p.to));
      const packed = await readPacked(
        db,
        key.id,
        part.map((p) => p.runId),
        lv,
        lo,
        hi,
        xAxis,
      );
      for (const p of part) {
        const bytes = packed.get(p.runId);
        if (bytes) pixelate(byRun.get(p.runId)!, bytes, lv, p, { xAxis, x0, perPx, width: query.width });
      }
    }),
  );
  return { xAxis, level, perPixel: perPx, stepsPerPixel: perPx, range: [x0, x1], series: [...byRun.values()] };
}

/** `items` in at most `parts` contiguous, non-empty slices of near-equal size. */
function split<T>(items: T[], parts: number): T[][] {
  const size = Math.ceil(items.length / Math.max(1, parts));
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const epochMs = (column: string) => `(extract(epoch from ${column}) * 1000)`;

/**
 * The stored records of one level for some runs, packed into one bytea per run (fixed-width
 * big-endian fields): reading ~200k buckets as rows costs far more in the driver than in
 * Postgres, packed they arrive as a few megabytes decoded in place (on postgres.js through
 * a binary COPY, which spares the bytea's hex text). Below the top level the records come
 * from the `children` of the level above, so Postgres visits an eighth of the rows. Order is
 * not needed: every record carries its step.
 * rollup record (metric_rollups.packed, kept by Postgres): min, max (NaN for none), last (f8), last step (i8), count, finite count (i4), first time ms (f8)
 * point record (packed here): step (i8), value (f8) [, time ms (f8) on the time axis]
 */
async function readPacked(db: Db, keyId: number, runIds: string[], level: number, lo: number, hi: number, xAxis: XAxis): Promise<Map<string, Uint8Array>> {
  // inlined below (COPY takes no parameters): every value is checked to be what it claims
  if (!runIds.every((id) => UUID.test(id)) || ![keyId, level, lo, hi].every(Number.isSafeInteger)) throw new DomainError('INVALID_INPUT', 'bad chart query');
  const time = (column: string) => (xAxis === 'time' ? ` || float8send(${epochMs(column)}::float8)` : '');
  const select =
    level === 0
      ? `select run_id::text, string_agg(int8send(step) || float8send(value) ${time('time')}, ''::bytea) as packed
         from metric_points where run_id = any('{${runIds.join(',')}}'::uuid[]) and key_id = ${keyId} and step between ${lo} and ${hi}
         group by run_id`
      : level < TOP_LEVEL
        ? // the level's records as the children of the level above: 8× fewer rows (the edges' extra children are skipped by pixelate)
          `select run_id::text, string_agg(children, ''::bytea) as packed
           from metric_rollups where run_id = any('{${runIds.join(',')}}'::uuid[]) and key_id = ${keyId} and level = ${level + 1}
             and bucket between ${Math.floor(lo / ROLLUP_BASE)} and ${Math.floor(hi / ROLLUP_BASE)}
           group by run_id`
        : `select run_id::text, string_agg(packed, ''::bytea) as packed
           from metric_rollups where run_id = any('{${runIds.join(',')}}'::uuid[]) and key_id = ${keyId} and level = ${level} and bucket between ${lo} and ${hi}
           group by run_id`;
  const copied = await copyOutBinary(db, select);
  if (copied) return new Map(copied.map(([runId, packed]) => [runId!.toString('utf8'), packed!]));
  const rows = resultRows<{ run_id: string; packed: Uint8Array | string }>(await db.execute(sql.raw(select)));
  return new Map(rows.map((r) => [r.run_id, typeof r.packed === 'string' ? Buffer.from(r.packed.replace(/^\\x/, ''), 'hex') : r.packed]));
}

const TOP_LEVEL = ROLLUP_LEVELS[ROLLUP_LEVELS.length - 1]!;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A run's packed records as little-endian 64-bit words: one aligned copy, each 8-byte word
 * byte-swapped (Buffer#swap64, native), then read through typed arrays: several times faster
 * than big-endian DataView reads field by field. Every field is 8 bytes except count and
 * finite count, a pair of big-endian int32 that the swap leaves as (finite, count) in u32.
 */
function littleEndianWords(bytes: Uint8Array): { f64: Float64Array; u32: Uint32Array } {
  const words = Math.floor(bytes.byteLength / 8);
  const copy = Buffer.alloc(words * 8);
  copy.set(bytes.subarray(0, words * 8));
  copy.swap64();
  return { f64: new Float64Array(copy.buffer, copy.byteOffset, words), u32: new Uint32Array(copy.buffer, copy.byteOffset, words * 2) };
}

/**
 * Folds one run's packed records into pixels: a record lands wholly in the pixel of its
 * position (a bucket's first step, a point's step, or on the time axis its first time; a
 * record from before the range joins pixel 0); per pixel the finite min and max, the last
 * value at the greatest step, and counts. Records outside the run's own plan are skipped.
 */
function pixelate(s: Series, bytes: Uint8Array, level: number, plan: RunPlan, axis: { xAxis: XAxis; x0: number; perPx: number; width: number }) {
  const { f64, u32 } = littleEndianWords(bytes);
  const timed = axis.xAxis === 'time';
  const stride = level === 0 ? (timed ? 3 : 2) : 6; // in 8-byte words
  const bucketW = bucketWidth(level);
  const n = axis.width + 2; // pixels 0…width (the range's last unit can land on pixel `width`)
  const min = new Float64Array(n).fill(Number.NaN);
  const max = new Float64Array(n).fill(Number.NaN);
  const last = new Float64Array(n);
  const lastStep = new Float64Array(n).fill(-1);
  const count = new Float64Array(n);
  const nonFinite = new Float64Array(n);
  for (let w = 0; w + stride <= f64.length; w += stride) {
    let lo: number, hi: number, value: number, stepOfLast: number, c: number, nf: number, at: number, unit: number;
    if (level === 0) {
      // step (i8), value (f8) [, time ms (f8)]
      stepOfLast = u32[2 * w + 1]! * 2 ** 32 + u32[2 * w]!;
      value = f64[w + 1]!;
      const finite = Number.isFinite(value);
      lo = hi = finite ? value : Number.NaN;
      c = 1;
      nf = finite ? 0 : 1;
      unit = stepOfLast;
      at = timed ? f64[w + 2]! : stepOfLast;
    } else {
      // min, max, last (f8), last step (i8), count | finite count (i4 each), first time ms (f8)
      lo = f64[w]!;
      hi = f64[w + 1]!;
      value = f64[w + 2]!;
      stepOfLast = u32[2 * w + 7]! * 2 ** 32 + u32[2 * w + 6]!;
      c = u32[2 * w + 9]!;
      nf = c - u32[2 * w + 8]!;
      unit = Math.floor(stepOfLast / bucketW);
      at = timed ? f64[w + 5]! : unit * bucketW;
    }
    if (unit < plan.from || unit > plan.to) continue;
    const px = Math.min(n - 1, Math.max(0, Math.floor((at - axis.x0) / axis.perPx)));
    if (!Number.isNaN(lo) && !(min[px]! <= lo)) min[px] = lo; // NaN in min[px]: none yet
    if (!Number.isNaN(hi) && !(max[px]! >= hi)) max[px] = hi;
    if (stepOfLast > lastStep[px]!) {
      last[px] = value;
      lastStep[px] = stepOfLast;
    }
    count[px]! += c;
    nonFinite[px]! += nf;
  }
  for (let px = 0; px < n; px++) {
    if (!count[px]) continue;
    // whole units: a pixel starts at the first step (or millisecond) it covers
    s.x.push(Math.max(axis.x0, Math.ceil(axis.x0 + px * axis.perPx)));
    s.min.push(Number.isNaN(min[px]!) ? null : min[px]!);
    s.max.push(Number.isNaN(max[px]!) ? null : max[px]!);
    s.last.push(wireNumber(last[px]!));
    s.lastStep.push(lastStep[px]!);
    s.count.push(count[px]!);
    s.nonFinite.push(nonFinite[px]!);
  }
}

/**
 * First and last logged step over the runs. Ingest keeps each key's first and last step in
 * the run's summary (`first`, `step`): one read of the runs' rows. Runs whose points predate
 * `first` (null or absent while `step` is there) take the rollup ladder instead.
 */
async function stepExtent(db: Db, runList: string, key: string, keyId: number): Promise<[number, number] | null> {
  const [row] = resultRows<{ first: string | null; last: string | null; unknown: string }>(
    await db.execute(sql`
      select min((summary -> ${key} ->> 'first')::bigint)::text as first, max((summary -> ${key} ->> 'step')::bigint)::text as last,
        count(*) filter (where summary -> ${key} ? 'step' and (summary -> ${key} ->> 'first') is null)::text as unknown
      from runs where id = any(${runList}::uuid[])`),
  );
  if (!row || Number(row.unknown) > 0) return stepExtentFromRollups(db, runList, keyId);
  if (row.first === null || row.last === null) return null;
  return [Number(row.first), Number(row.last)];
}

/**
 * First and last logged step over the runs, without scanning points: the top rollup level
 * gives the last step and the first top bucket; each finer level narrows that bucket down
 * (a handful of index rows per level), and only the final 8 steps are read from points.
 */
async function stepExtentFromRollups(db: Db, runList: string, keyId: number): Promise<[number, number] | null> {
  const top = ROLLUP_LEVELS[ROLLUP_LEVELS.length - 1]!;
  const [head] = resultRows<{ lo: string | null; hi: string | null }>(
    await db.execute(sql`
      select min(bucket) as lo, max(last_step) as hi from metric_rollups
      where run_id = any(${runList}::uuid[]) and key_id = ${keyId} and level = ${top}`),
  );
  if (head?.hi === null || head?.hi === undefined || head.lo === null) return null;
  let first = Number(head.lo) * bucketWidth(top);
  for (let level = top - 1; level >= 1; level--) {
    const [row] = resultRows<{ lo: string | null }>(
      await db.execute(sql`
        select min(bucket) as lo from metric_rollups
        where run_id = any(${runList}::uuid[]) and key_id = ${keyId} and level = ${level}
          and bucket >= ${Math.floor(first / bucketWidth(level))} and bucket < ${Math.floor(first / bucketWidth(level)) + ROLLUP_BASE}`),
    );
    if (row?.lo !== null && row?.lo !== undefined) first = Number(row.lo) * bucketWidth(level);
  }
  const [point] = resultRows<{ lo: string | null }>(
    await db.execute(sql`
      select min(step) as lo from metric_points
      where run_id = any(${runList}::uuid[]) and key_id = ${keyId} and step >= ${first} and step < ${first + ROLLUP_BASE}`),
  );
  return [Number(point?.lo ?? first), Number(head.hi)];
}

/** Earliest and latest logged time (epoch ms) over the runs, from the top rollup level. */
async function timeExtent(db: Db, runList: string, keyId: number): Promise<[number, number] | null> {
  const top = ROLLUP_LEVELS[ROLLUP_LEVELS.length - 1]!;
  const [row] = resultRows<{ lo: string | null; hi: string | null }>(
    await db.execute(sql`
      select floor(${sql.raw(epochMs('min(first_time)'))})::bigint as lo, floor(${sql.raw(epochMs('max(last_time)'))})::bigint as hi from metric_rollups
      where run_id = any(${runList}::uuid[]) and key_id = ${keyId} and level = ${top}`),
  );
  if (row?.lo === null || row?.lo === undefined || row.hi === null) return null;
  return [Number(row.lo), Number(row.hi)];
}

/**
 * The time axis: for each run, the steps logged within [t0, t1] and the level that resolves
 * them at this width. Steps are found by narrowing down the rollup ladder from the top (a
 * bucket per run and bound per level, 8 index rows each), assuming a run logs its steps in
 * time order (true of a training loop; out-of-order logging still charts, placed by time,
 * but the window's edges are then approximate). The level is chosen from the steps per
 * pixel of the span the run actually covers.
 */
async function timePlans(db: Db, runIds: string[], keyId: number, t0: number, t1: number, width: number): Promise<RunPlan[]> {
  const top = ROLLUP_LEVELS[ROLLUP_LEVELS.length - 1]!;
  const from = new Date(t0).toISOString();
  const to = new Date(t1 + 1).toISOString(); // t1 is an inclusive millisecond
  type Bound = { run_id: string; lo: string | null; hi: string | null };
  let bounds = resultRows<Bound>(
    await db.execute(sql`
      select run_id, min(bucket) filter (where last_time >= ${from}::timestamptz) as lo, max(bucket) filter (where first_time < ${to}::timestamptz) as hi
      from metric_rollups where run_id = any(${`{${runIds.join(',')}}`}::uuid[]) and key_id = ${keyId} and level = ${top}
      group by run_id`),
  ).filter((b) => b.lo !== null && b.hi !== null);
  for (let level = top - 1; level >= 0 && bounds.length; level--) {
    const table = level === 0 ? 'metric_points' : 'metric_rollups';
    const unit = level === 0 ? 'step' : 'bucket';
    const onLevel = level === 0 ? '' : `and level = ${level}`;
    const [firstTime, lastTime] = level === 0 ? ['time', 'time'] : ['first_time', 'last_time'];
    const next = resultRows<Bound>(
      await db.execute(sql`
        select v.run_id,
          coalesce((select min(${sql.raw(unit)}) from ${sql.raw(table)} x where x.run_id = v.run_id and x.key_id = ${keyId} ${sql.raw(onLevel)}
                      and x.${sql.raw(unit)} >= v.lo * 8 and x.${sql.raw(unit)} < v.lo * 8 + 8 and x.${sql.raw(lastTime)} >= ${from}::timestamptz), v.lo * 8) as lo,
          coalesce((select max(${sql.raw(unit)}) from ${sql.raw(table)} x where x.run_id = v.run_id and x.key_id = ${keyId} ${sql.raw(onLevel)}
                      and x.${sql.raw(unit)} >= v.hi * 8 and x.${sql.raw(unit)} < v.hi * 8 + 8 and x.${sql.raw(firstTime)} < ${to}::timestamptz), v.hi * 8 + 7) as hi
        from unnest(${`{${bounds.map((b) => b.run_id).join(',')}}`}::uuid[], ${`{${bounds.map((b) => b.lo).join(',')}}`}::bigint[], ${`{${bounds.map((b) => b.hi).join(',')}}`}::bigint[]) as v(run_id, lo, hi)`),
    );
    bounds = next;
  }
  // bounds are now steps; the time each run spans in the window sets its pixels
  const perPx = stepsPerPixel(t0, t1, width);
  const spans = await runSpans(db, keyId, bounds, from, to);
  return bounds
    .map((b) => ({ runId: b.run_id, lo: Number(b.lo), hi: Number(b.hi) }))
    .filter((b) => b.lo <= b.hi)
    .map(({ runId, lo, hi }) => {
      const pixels = Math.max(1, (spans.get(runId) ?? t1 - t0 + 1) / perPx);
      const level = levelFor((hi - lo + 1) / pixels);
      const w = bucketWidth(level);
      return level === 0 ? { runId, level, from: lo, to: hi } : { runId, level, from: Math.floor(lo / w), to: Math.floor(hi / w) };
    });
}

/** Milliseconds between the first and last point of each run's step range (within the window). */
async function runSpans(db: Db, keyId: number, bounds: { run_id: string; lo: string | null; hi: string | null }[], from: string, to: string) {
  if (!bounds.length) return new Map<string, number>();
  const rows = resultRows<{ run_id: string; span: number | null }>(
    await db.execute(sql`
      select v.run_id, extract(epoch from (least(b.time, ${to}::timestamptz) - greatest(a.time, ${from}::timestamptz))) * 1000 as span
      from unnest(${`{${bounds.map((b) => b.run_id).join(',')}}`}::uuid[], ${`{${bounds.map((b) => b.lo).join(',')}}`}::bigint[], ${`{${bounds.map((b) => b.hi).join(',')}}`}::bigint[]) as v(run_id, lo, hi)
      join metric_points a on a.run_id = v.run_id and a.key_id = ${keyId} and a.step = v.lo
      join metric_points b on b.run_id = v.run_id and b.key_id = ${keyId} and b.step = v.hi`),
  );
  return new Map(rows.map((r) => [r.run_id, Math.max(0, Number(r.span ?? 0))]));
}

/** A double for JSON: NaN and ±Infinity as strings. */
function wireNumber(value: number): number | string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return 'Infinity';
  if (value === Number.NEGATIVE_INFINITY) return '-Infinity';
  return value;
}

/** Metric keys logged in a project (optionally only by some runs), for chart pickers. */
export async function metricKeysOf(db: Db, actor: Actor, input: { projectId: string; runIds?: string[] | undefined }) {
  await requireProject(db, actor, input.projectId, 'read');
  if (input.runIds?.length) {
    const runList = `{${input.runIds.join(',')}}`;
    const rows = resultRows<{ key: string }>(
      await db.execute(sql`
        select k.key from metric_keys k
        where k.project_id = ${input.projectId}
          and exists (select 1 from metric_rollups r where r.key_id = k.id and r.run_id = any(${runList}::uuid[]) and r.level = ${ROLLUP_LEVELS[ROLLUP_LEVELS.length - 1]!})
        order by k.key`),
    );
    return rows.map((r) => r.key);
  }
  const rows = await db.select({ key: metricKeys.key }).from(metricKeys).where(eq(metricKeys.projectId, input.projectId)).orderBy(metricKeys.key);
  return rows.map((r) => r.key);
}
