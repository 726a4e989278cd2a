// Chart data at full fidelity: for each run, one bucket per pixel with finite min/max, the
// last value and a count, read from the coarsest rollup level that still resolves a pixel
// (raw points only when zoomed in far enough), aggregated in SQL.
import { and, type Db, eq, inArray, metricKeys, resultRows, runs, sql } from '@cellmark/db';
import { DomainError } from '../errors.ts';
import { type Actor, requireProject } from '../policy.ts';
import { bucketWidth, levelFor, ROLLUP_BASE, ROLLUP_LEVELS, stepsPerPixel } from './levels.ts';

export interface SeriesQuery {
  projectId: string;
  runIds: string[];
  key: string;
  /** inclusive step range; omitted: each request's overall extent */
  range?: [number, number] | undefined;
  /** pixels across the chart */
  width: number;
}

export interface Series {
  runId: string;
  /** columnar: pixel start step, finite min and max (null: only non-finite values), last value (null for NaN, ±Infinity as strings), count */
  x: number[];
  min: (number | null)[];
  max: (number | null)[];
  last: (number | string | null)[];
  lastStep: number[];
  count: number[];
  /** how many of `count` were NaN or ±Infinity (drawn as gaps / markers) */
  nonFinite: number[];
}

export const MAX_RUNS_PER_CHART = 100;

interface Row {
  run_id: string;
  px: number;
  min: number | null;
  max: number | null;
  last: number | string | null;
  last_step: string | number;
  count: number;
  non_finite: number;
}

export async function metricSeries(db: Db, actor: Actor, query: SeriesQuery): Promise<{ level: number; stepsPerPixel: number; range: [number, number] | null; series: Series[] }> {
  if (query.runIds.length > MAX_RUNS_PER_CHART) throw new DomainError('INVALID_INPUT', `runIds: at most ${MAX_RUNS_PER_CHART} runs per chart`);
  await requireProject(db, actor, query.projectId, 'read');
  const [key] = await db.select({ id: metricKeys.id }).from(metricKeys).where(and(eq(metricKeys.projectId, query.projectId), eq(metricKeys.key, query.key)));
  const inProject = await db.select({ id: runs.id }).from(runs).where(and(eq(runs.projectId, query.projectId), inArray(runs.id, query.runIds)));
  if (inProject.length !== new Set(query.runIds).size) throw new DomainError('NOT_FOUND', 'runIds: some runs are not in this project');
  const empty = (runId: string): Series => ({ runId, x: [], min: [], max: [], last: [], lastStep: [], count: [], nonFinite: [] });
  if (!key || !query.runIds.length) return { level: 0, stepsPerPixel: 1, range: null, series: query.runIds.map(empty) };

  const runList = `{${query.runIds.join(',')}}`;
  let range = query.range;
  if (!range) {
    const extent = await stepExtent(db, runList, key.id);
    if (!extent) return { level: 0, stepsPerPixel: 1, range: null, series: query.runIds.map(empty) };
    range = extent;
  }
  const [x0, x1] = range;
  if (x1 < x0) throw new DomainError('INVALID_INPUT', 'range: end before start');
  const perPx = stepsPerPixel(x0, x1, query.width);
  const level = levelFor(perPx);

  const result =
    level === 0
      ? await db.execute(sql`
          select run_id, floor((step - ${x0}) / ${perPx}::float8)::int as px,
                 min(value) filter (where value not in ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8)) as min,
                 max(value) filter (where value not in ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8)) as max,
                 ((array_agg(value order by step desc))[1])::text as last, max(step) as last_step, count(*)::int as count,
                 (count(*) filter (where value in ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8)))::int as non_finite
          from metric_points
          where run_id = any(${runList}::uuid[]) and key_id = ${key.id} and step between ${x0} and ${x1}
          group by run_id, px order by run_id, px`)
      : await db.execute(sql`
          select run_id, floor((bucket * ${bucketWidth(level)} - ${x0}) / ${perPx}::float8)::int as px,
                 min(min) as min, max(max) as max,
                 ((array_agg(last order by last_step desc))[1])::text as last, max(last_step) as last_step, sum(count)::int as count,
                 sum(count - finite_count)::int as non_finite
          from metric_rollups
          where run_id = any(${runList}::uuid[]) and key_id = ${key.id} and level = ${level}
            and bucket between ${Math.floor(x0 / bucketWidth(level))} and ${Math.floor(x1 / bucketWidth(level))}
          group by run_id, px order by run_id, px`);

  const byRun = new Map(query.runIds.map((id) => [id, empty(id)]));
  for (const row of resultRows<Row>(result)) {
    const s = byRun.get(row.run_id)!;
    // whole steps: a pixel starts at the first step it covers
    s.x.push(Math.max(x0, Math.ceil(x0 + row.px * perPx)));
    s.min.push(row.min === null ? null : Number(row.min));
    s.max.push(row.max === null ? null : Number(row.max));
    s.last.push(wireNumber(row.last));
    s.lastStep.push(Number(row.last_step));
    s.count.push(Number(row.count));
    s.nonFinite.push(Number(row.non_finite));
  }
  return { level, stepsPerPixel: perPx, range: [x0, x1], series: [...byRun.values()] };
}

/**
 * First and last logged step over the runs, without scanning points: the top rollup level
 * gives the last step and the first top bucket; each finer level narrows that bucket down
 * (a handful of index rows per level), and only the final 8 steps are read from points.
 */
async function stepExtent(db: Db, runList: string, keyId: number): Promise<[number, number] | null> {
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

/** float8 as text → number, keeping ±Infinity and NaN distinguishable in JSON. */
function wireNumber(text: number | string | null): number | string | null {
  if (text === null) return null;
  const s = String(text);
  if (s === 'NaN' || s === 'Infinity' || s === '-Infinity') return s;
  return Number(s);
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
