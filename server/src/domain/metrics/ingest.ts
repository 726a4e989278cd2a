// Metric ingest: one transaction per batch that interns keys, inserts points (a retried
// batch inserts nothing twice) and folds exactly the newly inserted points into every
// rollup level (computed here, see rollup.ts) and the run's summary. A batch is all or nothing.
import { BinaryCopyEncoder, canCopyIn, copyIntoTable, type Db, eq, metricKeys, resultRows, runs, type SQL, sql, uuidBytes } from '@cellmark/db';
import { MAX_KEY_CHARS, MAX_SUMMARY_TEXT } from '../../wire.ts';
import { DomainError } from '../errors.ts';
import { type Actor, requireRun } from '../policy.ts';
import { ROLLUP_BASE, ROLLUP_LEVELS } from './levels.ts';
import { type Bucket, type RollupPoint, rollupsOf } from './rollup.ts';

export type WireValue = number | 'NaN' | 'Infinity' | '-Infinity';

export interface MetricPointInput {
  key: string;
  step: number;
  value: WireValue;
  time: Date;
}

export interface MetricLimits {
  maxKeysPerBatch: number;
  maxPointsPerBatch: number;
}

const TOP_LEVEL = ROLLUP_LEVELS[ROLLUP_LEVELS.length - 1]!;

const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
/**
 * Point times a run can have. The binary COPY encoder writes microseconds since 2000 from a
 * safe integer (±2^53 µs, ~±285 years): a time outside that failed the whole batch with a 500.
 */
const TIME_RANGE = [Date.UTC(1970, 0, 1), Date.UTC(2200, 0, 1)] as const;
/** Lets other requests run between the phases of a large batch. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const NON_FINITE_WIRE = new Set(['NaN', 'Infinity', '-Infinity']);

/**
 * The wire points (`ingest.metrics` input) checked and typed in one loop: a per-point schema
 * cost ~3 ms per thousand points, a third of a 100k batch. A batch's points share few
 * timestamps, so each distinct time string is checked and parsed once. Errors name the
 * field the way the schema did (`points.<i>.<field>: …`).
 */
export function parsePoints(raw: unknown): MetricPointInput[] {
  if (!Array.isArray(raw)) throw new DomainError('INVALID_INPUT', 'points: expected an array');
  const times = new Map<string, Date>();
  const out: MetricPointInput[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const p = raw[i] as { key?: unknown; step?: unknown; value?: unknown; time?: unknown } | null;
    if (typeof p !== 'object' || p === null || Array.isArray(p))
      throw new DomainError('INVALID_INPUT', `points.${i}: expected an object with key, step, value and time`);
    const { key, step, value, time } = p;
    if (typeof key !== 'string') throw new DomainError('INVALID_INPUT', `points.${i}.key: expected a string`);
    if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0)
      throw new DomainError('INVALID_INPUT', `points.${i}.step: must be a non-negative integer`);
    if (!(typeof value === 'number' || (typeof value === 'string' && NON_FINITE_WIRE.has(value)))) {
      throw new DomainError('INVALID_INPUT', `points.${i}.value: expected a number or "NaN", "Infinity", "-Infinity"`);
    }
    if (typeof time !== 'string') throw new DomainError('INVALID_INPUT', `points.${i}.time: expected an ISO 8601 date-time with an offset`);
    let date = times.get(time);
    if (!date) {
      date = new Date(time);
      if (!ISO_DATETIME.test(time) || Number.isNaN(date.getTime()))
        throw new DomainError('INVALID_INPUT', `points.${i}.time: expected an ISO 8601 date-time with an offset, not ${JSON.stringify(time.slice(0, 40))}`);
      if (date.getTime() < TIME_RANGE[0] || date.getTime() >= TIME_RANGE[1]) {
        throw new DomainError('INVALID_INPUT', `points.${i}.time: must be from 1970 to 2199, not ${JSON.stringify(time.slice(0, 40))}`);
      }
      times.set(time, date);
    }
    out[i] = { key, step, value: value as WireValue, time: date };
  }
  return out;
}

export function validatePoints(points: MetricPointInput[], limits: MetricLimits): string[] {
  if (points.length > limits.maxPointsPerBatch) {
    throw new DomainError(
      'INVALID_INPUT',
      `points: ${points.length} points in one batch, over the limit of ${limits.maxPointsPerBatch} (CELLMARK_MAX_POINTS_PER_BATCH)`,
    );
  }
  const keys = [...new Set(points.map((p) => p.key))];
  if (keys.length > limits.maxKeysPerBatch) {
    throw new DomainError(
      'INVALID_INPUT',
      `points: ${keys.length} distinct keys in one batch, over the limit of ${limits.maxKeysPerBatch} (CELLMARK_MAX_METRIC_KEYS_PER_BATCH)`,
    );
  }
  points.forEach((p, i) => {
    if (!p.key.length || p.key.length > MAX_KEY_CHARS) throw new DomainError('INVALID_INPUT', `points.${i}.key: must be 1–${MAX_KEY_CHARS} characters`);
    if (!p.key.isWellFormed()) throw new DomainError('INVALID_INPUT', `points.${i}.key: not valid Unicode (unpaired surrogate)`);
    if (!Number.isSafeInteger(p.step) || p.step < 0) throw new DomainError('INVALID_INPUT', `points.${i}.step: must be a non-negative integer`);
  });
  return keys;
}

export async function ingestMetrics(db: Db, actor: Actor, input: { runId: string; points: MetricPointInput[] }, limits: MetricLimits) {
  await nextTurn(); // after the parse and parsePoints, each a few tens of ms at 100k points
  const keys = validatePoints(input.points, limits);
  await nextTurn();
  const { run, project } = await requireRun(db, actor, input.runId, 'write');
  if (run.userId !== actor.userId) throw new DomainError('FORBIDDEN', "only the run's owner can log metrics into it");
  if (!input.points.length) return { accepted: 0, inserted: 0 };

  return db.transaction(async (tx) => {
    // metric rows have no foreign key to their run (see the schema): the run is held against a
    // concurrent delete instead (a deleted run's rows go with it, by trigger), and against a
    // concurrent batch of its own, so what is stored can't change under the checks below
    const [held] = resultRows<{ id: string }>(await tx.execute(sql`select id from runs where id = ${input.runId}::uuid for no key update`));
    if (!held) throw new DomainError('NOT_FOUND', 'run not found');
    await tx
      .insert(metricKeys)
      .values(keys.map((key) => ({ projectId: project.id, key })))
      .onConflictDoNothing();
    // matched by position, not by the text read back: PGlite's decoder drops a leading U+FEFF
    const interned = resultRows<{ id: number; ord: string | number }>(
      await tx.execute(sql`
        select k.id, u.ord from unnest(${pgArray(keys)}::text[]) with ordinality as u(key, ord)
        join metric_keys k on k.project_id = ${project.id}::uuid and k.key = u.key`),
    );
    const idOf = new Map(interned.map((k) => [keys[Number(k.ord) - 1]!, k.id]));
    const points: RollupPoint[] = input.points.map((p) => ({ keyId: idOf.get(p.key)!, step: p.step, value: toNumber(p.value), time: p.time.getTime() }));
    await nextTurn();

    // The usual batch is all new (no step stored yet in its range, none repeated): it is
    // written as is, by binary COPY on Postgres. A retried or overlapping batch is inserted
    // asking which rows went in, so only those are folded into the rollups.
    let inserted = points;
    const ranges = keyRanges(points, (p) => p.step);
    if (!ranges.repeated && !(await anyStored(tx, input.runId, ranges))) {
      if (!(await copyIntoTable(tx, 'metric_points', POINT_COLUMNS, await encodePoints(input.runId, points))))
        await tx.execute(insertPoints(input.runId, points, false));
    } else {
      const stored = resultRows<{ key_id: number; step: string | number }>(await tx.execute(insertPoints(input.runId, points, true)));
      const fresh = new Set(stored.map((r) => `${r.key_id}:${r.step}`));
      // ON CONFLICT DO NOTHING keeps the first of a step repeated within the batch
      inserted = points.filter((p) => fresh.delete(`${p.keyId}:${p.step}`));
    }
    await nextTurn();
    if (inserted.length) await storeRollups(tx, input.runId, rollupsOf(inserted));
    const firstSteps = new Map<number, number>();
    for (const p of inserted) if (!(firstSteps.get(p.keyId)! <= p.step)) firstSteps.set(p.keyId, p.step);
    await refreshSummary(tx as unknown as Db, input.runId, [...idOf.values()], firstSteps);
    await tx.update(runs).set({ lastActivityAt: sql`now()` }).where(eq(runs.id, input.runId));
    return { accepted: input.points.length, inserted: inserted.length };
  });
}

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export interface KeyRanges {
  keyIds: number[];
  lo: number[];
  hi: number[];
  /** some (key, position) occurs twice */
  repeated: boolean;
}

/** Per key, the lowest and highest position (step or bucket) of `items`, and whether any repeats. */
export function keyRanges<T extends { keyId: number }>(items: T[], position: (item: T) => number): KeyRanges {
  const byKey = new Map<number, { lo: number; hi: number; count: number; ascending: boolean }>();
  for (const item of items) {
    const at = position(item);
    const r = byKey.get(item.keyId);
    if (!r) byKey.set(item.keyId, { lo: at, hi: at, count: 1, ascending: true });
    else {
      // in the usual (ascending) order a repeat would be the previous position
      if (at <= r.hi) r.ascending = false;
      r.lo = Math.min(r.lo, at);
      r.hi = Math.max(r.hi, at);
      r.count++;
    }
  }
  const keyIds = [...byKey.keys()];
  const unordered = new Set(keyIds.filter((k) => !byKey.get(k)!.ascending));
  let repeated = false;
  if (unordered.size) {
    const seen = new Map<number, Set<number>>([...unordered].map((k) => [k, new Set<number>()]));
    for (const item of items) seen.get(item.keyId)?.add(position(item));
    repeated = [...unordered].some((k) => seen.get(k)!.size !== byKey.get(k)!.count);
  }
  return { keyIds, lo: keyIds.map((k) => byKey.get(k)!.lo), hi: keyIds.map((k) => byKey.get(k)!.hi), repeated };
}

/**
 * Whether the run holds any point of a key within that key's step range. The run's rows are
 * probed per key through LATERAL subqueries the planner can't flatten (LIMIT 1 here, OFFSET 0
 * in storedBucketProbe), so each is an index probe whatever the statistics say. Written as a
 * join, a run that is new since the last ANALYZE is estimated at one row, and the planner
 * hashed all of the run's rows instead: 0.3–0.7 s per call late in a 1M-point run.
 */
export function storedPointProbe(runId: string, r: KeyRanges): SQL {
  return sql`
    select exists (
      select 1 from unnest(${numArray(r.keyIds)}::int[], ${numArray(r.lo)}::bigint[], ${numArray(r.hi)}::bigint[]) as u(k, lo, hi)
      cross join lateral (select 1 from metric_points p where p.run_id = ${runId}::uuid and p.key_id = u.k and p.step between u.lo and u.hi limit 1) as hit
    ) as any`;
}

async function anyStored(tx: Tx, runId: string, r: KeyRanges): Promise<boolean> {
  const [row] = resultRows<{ any: boolean }>(await tx.execute(storedPointProbe(runId, r)));
  return Boolean(row?.any);
}

/** The stored buckets among `buckets` (index probes only). */
export function storedBucketProbe(runId: string, buckets: Bucket[]): SQL {
  const levelKey = (b: Bucket) => b.keyId * 64 + b.level;
  const ranges = keyRanges(
    buckets.map((b) => ({ keyId: levelKey(b), bucket: b.bucket })),
    (b) => b.bucket,
  );
  return sql`
    select r.key_id, r.level, r.bucket from unnest(${numArray(ranges.keyIds)}::bigint[], ${numArray(ranges.lo)}::bigint[], ${numArray(ranges.hi)}::bigint[]) as u(kl, lo, hi)
    cross join lateral (
      select r.key_id, r.level, r.bucket from metric_rollups r
      where r.run_id = ${runId}::uuid and r.key_id = u.kl / 64 and r.level = u.kl % 64 and r.bucket between u.lo and u.hi offset 0
    ) as r`;
}

const POINT_COLUMNS = ['run_id', 'key_id', 'step', 'value', 'time'];
const ROLLUP_COLUMNS = [
  'run_id',
  'key_id',
  'level',
  'bucket',
  'count',
  'finite_count',
  'min',
  'max',
  'sum',
  'last',
  'last_step',
  'first_time',
  'last_time',
  'children',
];

/**
 * Encoding yields every this many rows: a 100k-point batch took ~150 ms to encode in one go,
 * holding the event loop (every other request) for all of it.
 */
const ROWS_PER_TURN = 10_000;

async function encodePoints(runId: string, points: RollupPoint[]): Promise<Buffer> {
  const run = uuidBytes(runId);
  const out = new BinaryCopyEncoder(points.length * 66);
  for (let i = 0; i < points.length; i++) {
    if (i && i % ROWS_PER_TURN === 0) await nextTurn();
    const p = points[i]!;
    out.row(5).uuid(run).int4(p.keyId).int8(p.step).float8(p.value).timestamptz(p.time);
  }
  return out.finish();
}

/** Writes `metric_rollups.packed` as Postgres computes it (see the schema) for a bucket, in place. */
function writePacked(out: BinaryCopyEncoder, b: Bucket) {
  out
    .rawFloat8(b.min ?? Number.NaN)
    .rawFloat8(b.max ?? Number.NaN)
    .rawFloat8(b.last)
    .rawInt8(b.lastStep)
    .rawInt4(b.count)
    .rawInt4(b.finiteCount)
    .rawFloat8(b.firstTime);
}
const PACKED_BYTES = 48;

const bucketId = (keyId: number, level: number, bucket: number) => `${keyId}:${level}:${bucket}`;

/**
 * New buckets with `children` (levels 2 and up): the packed records of their children, which
 * are all new too (a stored child would mean a stored parent) and all among `all`.
 */
async function encodeRollups(runId: string, buckets: Bucket[], all: Bucket[]): Promise<Buffer> {
  const children = new Map<string, Bucket[]>();
  for (const b of all) {
    if (b.level >= ROLLUP_LEVELS.length) continue;
    const parent = bucketId(b.keyId, b.level + 1, Math.floor(b.bucket / ROLLUP_BASE));
    const list = children.get(parent);
    if (list) list.push(b);
    else children.set(parent, [b]);
  }
  const run = uuidBytes(runId);
  const out = new BinaryCopyEncoder(buckets.length * 140 + all.length * PACKED_BYTES);
  for (const [i, b] of buckets.entries()) {
    if (i && i % ROWS_PER_TURN === 0) await nextTurn();
    out.row(14).uuid(run).int4(b.keyId).int2(b.level).int8(b.bucket).int4(b.count).int4(b.finiteCount);
    out.float8OrNull(b.min).float8OrNull(b.max).float8OrNull(b.sum).float8(b.last).int8(b.lastStep).timestamptz(b.firstTime).timestamptz(b.lastTime);
    const records = b.level >= 2 ? children.get(bucketId(b.keyId, b.level, b.bucket)) : undefined;
    if (!records) {
      out.null();
      continue;
    }
    out.byteaOf(records.length * PACKED_BYTES);
    for (const child of records) writePacked(out, child);
  }
  return out.finish();
}

/**
 * Rebuilds `children` of these stored buckets (levels 2 and up) from their children's rows.
 * The buckets are found by index probes (see storedPointProbe) and updated by row address:
 * as a join, Postgres 15 filtered all the run's buckets.
 */
export function refreshChildren(runId: string, buckets: Bucket[]): SQL {
  const parents = buckets.filter((b) => b.level >= 2);
  return sql`
    update metric_rollups p set children = (
      select string_agg(c.packed, ''::bytea order by c.bucket) from metric_rollups c
      where c.run_id = p.run_id and c.key_id = p.key_id and c.level = p.level - 1 and c.bucket >= p.bucket * ${sql.raw(String(ROLLUP_BASE))} and c.bucket < p.bucket * ${sql.raw(String(ROLLUP_BASE))} + ${sql.raw(String(ROLLUP_BASE))})
    where p.ctid = any(array(
      select r.ctid from unnest(${numArray(parents.map((b) => b.keyId))}::int[], ${numArray(parents.map((b) => b.level))}::smallint[], ${numArray(parents.map((b) => b.bucket))}::bigint[]) as u(k, l, b)
      cross join lateral (select r.ctid from metric_rollups r where r.run_id = ${runId}::uuid and r.key_id = u.k and r.level = u.l and r.bucket = u.b offset 0) as r
    ))`;
}

/**
 * Folds buckets into the stored rollups. On Postgres the buckets not stored yet (all but the
 * edges of an appended range) go in by binary COPY, with their children's records, and only
 * the others are merged by upsert and have their children rebuilt from the rows; on PGlite
 * everything takes the second way.
 */
async function storeRollups(tx: Tx, runId: string, buckets: Bucket[]) {
  if (!canCopyIn(tx)) {
    await tx.execute(upsertRollups(runId, buckets));
    await tx.execute(refreshChildren(runId, buckets));
    return;
  }
  const existing = resultRows<{ key_id: number; level: number; bucket: string | number }>(await tx.execute(storedBucketProbe(runId, buckets)));
  const stored = new Set(existing.map((r) => bucketId(r.key_id, r.level, Number(r.bucket))));
  const fresh = stored.size ? buckets.filter((b) => !stored.has(bucketId(b.keyId, b.level, b.bucket))) : buckets;
  if (fresh.length) await copyIntoTable(tx, 'metric_rollups', ROLLUP_COLUMNS, await encodeRollups(runId, fresh, buckets));
  if (stored.size) {
    const merged = buckets.filter((b) => stored.has(bucketId(b.keyId, b.level, b.bucket)));
    await tx.execute(upsertRollups(runId, merged));
    await tx.execute(refreshChildren(runId, merged));
  }
}

const toNumber = (v: WireValue): number =>
  typeof v === 'number' ? v : v === 'NaN' ? Number.NaN : v === 'Infinity' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;

/**
 * Points travel as four array literals (one parameter each, whatever the batch size); values
 * as text so NaN/Infinity survive every driver.
 */
function insertPoints(runId: string, points: RollupPoint[], returning: boolean): SQL {
  const isoOf = new Map<number, string>(); // a batch's points share few distinct times
  const iso = (ms: number) => {
    let text = isoOf.get(ms);
    if (text === undefined) {
      text = new Date(ms).toISOString();
      isoOf.set(ms, text);
    }
    return text;
  };
  return sql`
    insert into metric_points (run_id, key_id, step, value, time)
    select ${runId}::uuid, k, s, v::float8, t::timestamptz
    from unnest(${numArray(points.map((p) => p.keyId))}::int[], ${numArray(points.map((p) => p.step))}::bigint[], ${pgArray(points.map((p) => String(p.value)))}::text[], ${pgArray(points.map((p) => iso(p.time)))}::text[]) as u(k, s, v, t)
    on conflict do nothing
    ${returning ? sql`returning key_id, step` : sql``}`;
}

/** Folds buckets into the stored rollups: the same merge as `absorb`, in SQL (sums saturate at the largest finite double, as there). */
function upsertRollups(runId: string, buckets: Bucket[]): SQL {
  const col = <T>(f: (b: Bucket) => T) => buckets.map(f);
  const iso = (ms: number) => new Date(ms).toISOString();
  return sql`
    insert into metric_rollups as r (run_id, key_id, level, bucket, count, finite_count, min, max, sum, last, last_step, first_time, last_time)
    select ${runId}::uuid, k, l, b, c, f, mn, mx, sm, ls::float8, lst, ft::timestamptz, lt::timestamptz
    from unnest(
      ${numArray(col((b) => b.keyId))}::int[], ${numArray(col((b) => b.level))}::smallint[], ${numArray(col((b) => b.bucket))}::bigint[],
      ${numArray(col((b) => b.count))}::int[], ${numArray(col((b) => b.finiteCount))}::int[],
      ${numArray(col((b) => b.min))}::float8[], ${numArray(col((b) => b.max))}::float8[], ${numArray(col((b) => b.sum))}::float8[],
      ${pgArray(col((b) => String(b.last)))}::text[], ${numArray(col((b) => b.lastStep))}::bigint[],
      ${pgArray(col((b) => iso(b.firstTime)))}::text[], ${pgArray(col((b) => iso(b.lastTime)))}::text[]
    ) as u(k, l, b, c, f, mn, mx, sm, ls, lst, ft, lt)
    on conflict (run_id, key_id, level, bucket) do update set
      count = r.count + excluded.count,
      finite_count = r.finite_count + excluded.finite_count,
      min = least(r.min, excluded.min),
      max = greatest(r.max, excluded.max),
      sum = case when r.sum is null then excluded.sum when excluded.sum is null then r.sum
        else least(greatest(r.sum::numeric + excluded.sum::numeric, ${-Number.MAX_VALUE}::numeric), ${Number.MAX_VALUE}::numeric)::float8 end,
      last = case when excluded.last_step >= r.last_step then excluded.last else r.last end,
      last_step = greatest(r.last_step, excluded.last_step),
      first_time = least(r.first_time, excluded.first_time),
      last_time = greatest(r.last_time, excluded.last_time)`;
}

/** A Postgres array literal of numbers (null as NULL; NaN/±Infinity spelled as Postgres reads them). */
export function numArray(values: (number | null)[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : String(v))).join(',')}}`;
}

/** A Postgres array literal of text values: `{"a","b"}`. */
export function pgArray(values: string[]): string {
  return `{${values.map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}

/**
 * runs.summary[key] = last value (at the greatest step), finite min/max/mean, from the top
 * rollup level, and `first`, the first step (charts' extent), from the new points' first steps
 * (`firstSteps`: key id → lowest new step). `first` is null when unknown: a key with points
 * from before it was kept.
 */
async function refreshSummary(db: Db, runId: string, keyIds: number[], firstSteps: Map<number, number>) {
  await db.execute(sql`
    update runs set summary = summary || coalesce((
      select jsonb_object_agg(k.key, coalesce(summary -> k.key, '{}'::jsonb) || jsonb_build_object(
        'last', case when s.last in ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8) then to_jsonb(s.last::text) else to_jsonb(s.last) end,
        'step', s.last_step, 'min', s.min, 'max', s.max, 'mean', case when s.finite > 0 then s.sum / s.finite end,
        'first', case
          when (summary -> k.key ->> 'first') is not null then to_jsonb(least((summary -> k.key ->> 'first')::bigint, f.first))
          when summary -> k.key ? 'step' then 'null'::jsonb
          else to_jsonb(f.first) end))
        -- sum and mean in numeric: float8 arithmetic raises on overflow and on subnormal underflow
      from (
        select key_id, min(min) as min, max(max) as max, sum(sum::numeric) as sum, sum(finite_count) as finite,
               (array_agg(last order by last_step desc))[1] as last, max(last_step) as last_step
        from metric_rollups
        where run_id = ${runId}::uuid and level = ${TOP_LEVEL} and key_id = any(${`{${keyIds.join(',')}}`}::int[])
        group by key_id
      ) s join metric_keys k on k.id = s.key_id
      left join unnest(${numArray([...firstSteps.keys()])}::int[], ${numArray([...firstSteps.values()])}::bigint[]) as f(key_id, first) on f.key_id = s.key_id
    ), '{}'::jsonb)
    where id = ${runId}::uuid`);
}

export type SummaryValue = WireValue | string | boolean | null;

/**
 * Values set by hand (`cellmark.summary["best_acc"] = 0.97`): stored as summary[key].value,
 * which wins over the logged last value in tables; `unset` removes a hand-set value (the
 * logged statistics stay). One statement: all or nothing.
 */
export async function setSummary(
  db: Db,
  actor: Actor,
  input: { runId: string; set?: Record<string, SummaryValue> | undefined; unset?: string[] | undefined },
  limits: MetricLimits,
) {
  const set = Object.entries(input.set ?? {});
  const unset = input.unset ?? [];
  if (set.length + unset.length > limits.maxKeysPerBatch) {
    throw new DomainError(
      'INVALID_INPUT',
      `${set.length + unset.length} summary keys in one call, over the limit of ${limits.maxKeysPerBatch} (CELLMARK_MAX_METRIC_KEYS_PER_BATCH)`,
    );
  }
  for (const key of [...set.map(([k]) => k), ...unset]) {
    if (!key.length || key.length > MAX_KEY_CHARS || !key.isWellFormed())
      throw new DomainError('INVALID_INPUT', `summary key ${JSON.stringify(key.slice(0, 60))}: must be 1–${MAX_KEY_CHARS} characters of valid Unicode`);
  }
  for (const [key, value] of set) {
    if (typeof value === 'string' && (value.length > MAX_SUMMARY_TEXT || !value.isWellFormed()))
      throw new DomainError('INVALID_INPUT', `summary.${key}: text values are at most ${MAX_SUMMARY_TEXT} characters of valid Unicode`);
  }
  const { run } = await requireRun(db, actor, input.runId, 'write');
  if (run.userId !== actor.userId) throw new DomainError('FORBIDDEN', "only the run's owner can set its summary");
  // {"key": {"value": v}} merged per key; unset keys lose "value" (and vanish when nothing else is left)
  const patch = Object.fromEntries(set.map(([key, value]) => [key, { value }]));
  await db.execute(sql`
    update runs set summary = (
      select coalesce(jsonb_object_agg(k, v), '{}'::jsonb) from (
        select k, case when k = any(${pgArray(unset)}::text[]) then v - 'value' else v end as v
        from jsonb_each(summary || (
          select coalesce(jsonb_object_agg(p.key, coalesce(summary -> p.key, '{}'::jsonb) || p.value), '{}'::jsonb) from jsonb_each(${JSON.stringify(patch)}::jsonb) p
        )) as e(k, v)
      ) s where v <> '{}'::jsonb
    ), last_activity_at = now()
    where id = ${input.runId}::uuid`);
  return { set: set.length, unset: unset.length };
}
