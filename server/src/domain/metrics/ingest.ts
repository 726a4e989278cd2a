// Metric ingest: one transaction per batch that interns keys, inserts points (a retried
// batch inserts nothing twice) and folds exactly the newly inserted points into every
// rollup level and the run's summary. A batch is all or nothing.
import { and, type Db, eq, inArray, metricKeys, resultRows, runs, sql } from '@cellmark/db';
import { DomainError } from '../errors.ts';
import { type Actor, requireRun } from '../policy.ts';
import { ROLLUP_BASE, ROLLUP_LEVELS } from './levels.ts';

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

export const MAX_KEY_CHARS = 250;
const TOP_LEVEL = ROLLUP_LEVELS[ROLLUP_LEVELS.length - 1]!;

export function validatePoints(points: MetricPointInput[], limits: MetricLimits): string[] {
  if (points.length > limits.maxPointsPerBatch) {
    throw new DomainError('INVALID_INPUT', `points: ${points.length} points in one batch, over the limit of ${limits.maxPointsPerBatch} (CELLMARK_MAX_POINTS_PER_BATCH)`);
  }
  const keys = [...new Set(points.map((p) => p.key))];
  if (keys.length > limits.maxKeysPerBatch) {
    throw new DomainError('INVALID_INPUT', `points: ${keys.length} distinct keys in one batch, over the limit of ${limits.maxKeysPerBatch} (CELLMARK_MAX_METRIC_KEYS_PER_BATCH)`);
  }
  points.forEach((p, i) => {
    if (!p.key.length || p.key.length > MAX_KEY_CHARS) throw new DomainError('INVALID_INPUT', `points.${i}.key: must be 1–${MAX_KEY_CHARS} characters`);
    if (!p.key.isWellFormed()) throw new DomainError('INVALID_INPUT', `points.${i}.key: not valid Unicode (unpaired surrogate)`);
    if (!Number.isSafeInteger(p.step) || p.step < 0) throw new DomainError('INVALID_INPUT', `points.${i}.step: must be a non-negative integer`);
  });
  return keys;
}

export async function ingestMetrics(db: Db, actor: Actor, input: { runId: string; points: MetricPointInput[] }, limits: MetricLimits) {
  const keys = validatePoints(input.points, limits);
  const { run, project } = await requireRun(db, actor, input.runId, 'write');
  if (run.userId !== actor.userId) throw new DomainError('FORBIDDEN', "only the run's owner can log metrics into it");
  if (!input.points.length) return { accepted: 0, inserted: 0 };

  return db.transaction(async (tx) => {
    await tx.insert(metricKeys).values(keys.map((key) => ({ projectId: project.id, key }))).onConflictDoNothing();
    const interned = await tx
      .select({ id: metricKeys.id, key: metricKeys.key })
      .from(metricKeys)
      .where(and(eq(metricKeys.projectId, project.id), inArray(metricKeys.key, keys)));
    const idOf = new Map(interned.map((k) => [k.key, k.id]));

    // Columns travel as four array literals (one parameter each, whatever the batch size),
    // as text so NaN/Infinity and 64-bit steps survive every driver.
    const keyIds = pgArray(input.points.map((p) => String(idOf.get(p.key))));
    const steps = pgArray(input.points.map((p) => String(p.step)));
    const values = pgArray(input.points.map((p) => String(p.value)));
    const times = pgArray(input.points.map((p) => p.time.toISOString()));

    const result = await tx.execute(sql`
      with incoming as (
        -- a step repeated within the batch: ON CONFLICT DO NOTHING keeps the first
        select k, s, v, t from unnest(${keyIds}::text[], ${steps}::text[], ${values}::text[], ${times}::text[]) as u(k, s, v, t)
      ),
      inserted as (
        insert into metric_points (run_id, key_id, step, value, time)
        select ${input.runId}::uuid, k::int, s::bigint, v::float8, t::timestamptz from incoming
        on conflict do nothing
        returning key_id, step, value, time
      ),
      ${sql.raw(levelChain())},
      folded as (
        insert into metric_rollups as r (run_id, key_id, level, bucket, count, finite_count, min, max, sum, last, last_step, first_time, last_time)
        select ${input.runId}::uuid, key_id, level, bucket, count, finite_count, min, max, sum, last, last_step, first_time, last_time
        from all_levels
        on conflict (run_id, key_id, level, bucket) do update set
          count = r.count + excluded.count,
          finite_count = r.finite_count + excluded.finite_count,
          min = least(r.min, excluded.min),
          max = greatest(r.max, excluded.max),
          sum = case when r.sum is null then excluded.sum when excluded.sum is null then r.sum else r.sum + excluded.sum end,
          last = case when excluded.last_step > r.last_step then excluded.last else r.last end,
          last_step = greatest(r.last_step, excluded.last_step),
          first_time = least(r.first_time, excluded.first_time),
          last_time = greatest(r.last_time, excluded.last_time)
        returning 1
      )
      select (select count(*)::int from inserted) as inserted, (select count(*)::int from folded) as buckets`);
    const inserted = resultRows<{ inserted: number }>(result)[0]?.inserted ?? 0;
    await refreshSummary(tx as unknown as Db, input.runId, [...idOf.values()]);
    await tx.update(runs).set({ lastActivityAt: sql`now()` }).where(eq(runs.id, input.runId));
    return { accepted: input.points.length, inserted };
  });
}

const ROLLUP_COLUMNS = 'key_id, bucket, count, finite_count, min, max, sum, last, last_step, first_time, last_time';

/**
 * CTEs l1…l6 and all_levels: level 1 aggregates the inserted points, every further level
 * aggregates the level below (8 buckets each), so the work shrinks 8× per level instead of
 * every point being grouped six times.
 */
function levelChain(): string {
  const parts = [
    `l1 as (
      select key_id, floor(step / ${ROLLUP_BASE})::bigint as bucket, count(*)::int as count,
             (count(*) filter (where finite))::int as finite_count,
             min(value) filter (where finite) as min, max(value) filter (where finite) as max, sum(value) filter (where finite) as sum,
             (array_agg(value order by step desc))[1] as last, max(step) as last_step, min(time) as first_time, max(time) as last_time
      from (select *, value not in ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8) as finite from inserted) i
      group by key_id, floor(step / ${ROLLUP_BASE}))`,
  ];
  for (const level of ROLLUP_LEVELS.slice(1)) {
    parts.push(`l${level} as (
      select key_id, floor(bucket / ${ROLLUP_BASE})::bigint as bucket, sum(count)::int as count, sum(finite_count)::int as finite_count,
             min(min) as min, max(max) as max, sum(sum) as sum, (array_agg(last order by last_step desc))[1] as last, max(last_step) as last_step,
             min(first_time) as first_time, max(last_time) as last_time
      from l${level - 1} group by key_id, floor(bucket / ${ROLLUP_BASE}))`);
  }
  parts.push(`all_levels as (${ROLLUP_LEVELS.map((level) => `select ${level} as level, ${ROLLUP_COLUMNS} from l${level}`).join(' union all ')})`);
  return parts.join(',\n      ');
}

/** A Postgres array literal of text values: `{"a","b"}`. */
export function pgArray(values: string[]): string {
  return `{${values.map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}

/** runs.summary[key] = last value (at the greatest step), finite min/max/mean, from the top rollup level. */
async function refreshSummary(db: Db, runId: string, keyIds: number[]) {
  await db.execute(sql`
    update runs set summary = summary || coalesce((
      select jsonb_object_agg(k.key, coalesce(summary -> k.key, '{}'::jsonb) || jsonb_build_object(
        'last', case when s.last in ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8) then to_jsonb(s.last::text) else to_jsonb(s.last) end,
        'step', s.last_step, 'min', s.min, 'max', s.max, 'mean', case when s.finite > 0 then s.sum / s.finite end))
      from (
        select key_id, min(min) as min, max(max) as max, sum(sum) as sum, sum(finite_count) as finite,
               (array_agg(last order by last_step desc))[1] as last, max(last_step) as last_step
        from metric_rollups
        where run_id = ${runId}::uuid and level = ${TOP_LEVEL} and key_id = any(${`{${keyIds.join(',')}}`}::int[])
        group by key_id
      ) s join metric_keys k on k.id = s.key_id
    ), '{}'::jsonb)
    where id = ${runId}::uuid`);
}
