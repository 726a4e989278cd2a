// Metric ingest and chart queries on a real database, checked against a brute-force
// reference over random data (property-based, fast-check).

import type { Database } from '@cellmark/db';
import { eq, metricPoints, metricRollups, projects, resultRows, runs, sql, users } from '@cellmark/db';
import { createTestDb } from '@cellmark/db/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../src/domain/errors.ts';
import { ingestMetrics, type MetricPointInput, parsePoints, setSummary, type WireValue } from '../src/domain/metrics/ingest.ts';
import { levelFor, pixelOf, stepsPerPixel } from '../src/domain/metrics/levels.ts';
import { metricSeries } from '../src/domain/metrics/series.ts';
import { createWorkspace } from '../src/domain/onboarding.ts';
import type { Actor } from '../src/domain/policy.ts';
import { listRuns, startRun } from '../src/domain/runs.ts';

let database: Database;
let actor: Actor;
let projectPath: string;
let projectId: string;
const limits = { maxKeysPerBatch: 50, maxPointsPerBatch: 100_000 };

beforeAll(async () => {
  database = await createTestDb();
  await database.db.insert(users).values({ id: 'u1', name: 'Metrics', email: 'metrics@example.test' });
  actor = { userId: 'u1', via: 'token' };
  const { team, project } = await createWorkspace(database.db, { ...actor, via: 'session' }, { teamName: 'M', projectName: 'P' });
  projectPath = `${team.slug}/${project.slug}`;
  projectId = project.id;
});
afterAll(() => database?.close());

let runCounter = 0;
async function newRun() {
  const { runId } = await startRun(database.db, actor, {
    project: projectPath,
    clientKey: `metrics-run-${++runCounter}`,
    notebookPath: 'm.ipynb',
    startedAt: new Date(),
  });
  return runId;
}

const finite = (v: WireValue): v is number => typeof v === 'number' && Number.isFinite(v);

/** What a chart should show, computed from the points alone. */
function reference(points: { step: number; value: WireValue }[], x0: number, x1: number, width: number) {
  const perPx = stepsPerPixel(x0, x1, width);
  const level = levelFor(perPx);
  const px = new Map<number, { min: number | null; max: number | null; last: WireValue; lastStep: number; count: number; nonFinite: number }>();
  for (const p of [...points].sort((a, b) => a.step - b.step)) {
    if (level === 0 ? p.step < x0 || p.step > x1 : false) continue;
    const i = pixelOf(p.step, level, x0, perPx);
    const b = px.get(i) ?? { min: null, max: null, last: p.value, lastStep: p.step, count: 0, nonFinite: 0 };
    if (!finite(p.value)) b.nonFinite++;
    if (finite(p.value)) {
      b.min = b.min === null ? p.value : Math.min(b.min, p.value);
      b.max = b.max === null ? p.value : Math.max(b.max, p.value);
    }
    b.last = p.value;
    b.lastStep = p.step;
    b.count++;
    px.set(i, b);
  }
  return [...px.entries()].sort(([a], [b]) => a - b).map(([, b]) => b);
}

const wire = fc.oneof(
  { weight: 20, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom<WireValue>('NaN', 'Infinity', '-Infinity') },
);

describe('metric ingest and rollups (property-based against brute force)', () => {
  it('every rollup level and every chart query match a brute-force reference', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.record({ step: fc.integer({ min: 0, max: 40_000 }), value: wire }), { selector: (p) => p.step, minLength: 1, maxLength: 400 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 1200 }),
        fc.option(fc.tuple(fc.integer({ min: 0, max: 40_000 }), fc.integer({ min: 0, max: 40_000 })), { nil: undefined }),
        async (points, batches, width, window) => {
          const runId = await newRun();
          const time = new Date('2026-11-26T12:00:00Z');
          const all: MetricPointInput[] = points.map((p) => ({ key: 'loss', step: p.step, value: p.value, time }));
          // split into batches, sent out of order, one of them twice (a retry)
          const chunks = Array.from({ length: batches }, (_, i) => all.filter((_, j) => j % batches === i)).reverse();
          for (const chunk of [...chunks, chunks[0]!]) await ingestMetrics(database.db, actor, { runId, points: chunk }, limits);

          const stored = await database.db.select().from(metricPoints).where(sql`${metricPoints.runId} = ${runId}`);
          expect(stored).toHaveLength(points.length);

          // every stored bucket of every level against the points it covers
          const buckets = await database.db
            .select()
            .from(metricRollups)
            .where(sql`${metricRollups.runId} = ${runId}`)
            .orderBy(metricRollups.level, metricRollups.bucket);
          const expected = [1, 2, 3, 4, 5, 6].flatMap((level) => {
            const byBucket = new Map<number, typeof points>();
            for (const p of [...points].sort((a, b) => a.step - b.step)) {
              const bucket = Math.floor(p.step / 8 ** level);
              byBucket.set(bucket, [...(byBucket.get(bucket) ?? []), p]);
            }
            return [...byBucket]
              .sort(([a], [b]) => a - b)
              .map(([bucket, ps]) => {
                const fin = ps.map((p) => p.value).filter(finite);
                const last = ps.at(-1)!;
                const sum = fin.length ? fin.reduce((a, b) => a + b, 0) : null;
                const magnitude = fin.reduce((a, b) => a + Math.abs(b), 0);
                return {
                  level,
                  bucket,
                  count: ps.length,
                  finiteCount: fin.length,
                  min: fin.length ? Math.min(...fin) : null,
                  max: fin.length ? Math.max(...fin) : null,
                  lastStep: last.step,
                  last: finite(last.value) ? last.value : Number(last.value),
                  sum,
                  magnitude,
                };
              });
          });
          expect(buckets.map(({ level, bucket, count, finiteCount, lastStep }) => ({ level, bucket, count, finiteCount, lastStep }))).toEqual(
            expected.map(({ level, bucket, count, finiteCount, lastStep }) => ({ level, bucket, count, finiteCount, lastStep })),
          );
          buckets.forEach((b, i) => {
            const want = expected[i]!;
            expect([b.min === 0 ? 0 : b.min, b.max === 0 ? 0 : b.max, b.last === 0 ? 0 : b.last]).toEqual([
              want.min === 0 ? 0 : want.min,
              want.max === 0 ? 0 : want.max,
              want.last === 0 ? 0 : want.last,
            ]);
            // batches add partial sums in another order: equal up to rounding
            if (want.sum === null) expect(b.sum).toBeNull();
            else expect(Math.abs(b.sum! - want.sum)).toBeLessThanOrEqual(1e-12 * want.magnitude);
          });

          // each bucket of level 2 and up carries its children's records, in bucket order (what charts read)
          const [{ stale }] = resultRows<{ stale: number }>(
            await database.db.execute(sql`
              select count(*)::int as stale from metric_rollups p where p.run_id = ${runId}::uuid and p.level >= 2
                and p.children is distinct from (select string_agg(c.packed, ''::bytea order by c.bucket) from metric_rollups c
                  where c.run_id = p.run_id and c.key_id = p.key_id and c.level = p.level - 1 and c.bucket / 8 = p.bucket)`),
          ) as [{ stale: number }];
          expect(stale).toBe(0);

          const range: [number, number] | undefined = window ? [Math.min(...window), Math.max(...window)] : undefined;
          const [x0, x1] = range ?? [Math.min(...points.map((p) => p.step)), Math.max(...points.map((p) => p.step))];
          const { series, level, range: extent } = await metricSeries(database.db, actor, { projectId, runIds: [runId], key: 'loss', range, width });
          expect(extent).toEqual([x0, x1]);
          const got = series[0]!;
          const levelPoints =
            level === 0
              ? points
              : points.filter(
                  (p) => Math.floor(p.step / 8 ** level) >= Math.floor(x0 / 8 ** level) && Math.floor(p.step / 8 ** level) <= Math.floor(x1 / 8 ** level),
                );
          const want = reference(levelPoints, x0, x1, width);
          expect(got.count).toEqual(want.map((b) => b.count));
          expect(got.nonFinite).toEqual(want.map((b) => b.nonFinite));
          expect(got.x.every(Number.isInteger)).toBe(true);
          // Postgres and Math.min disagree on which of -0 and 0 is smaller; both are zero
          const z = (v: number | string | null) => (v === 0 ? 0 : v);
          expect(got.min.map(z)).toEqual(want.map((b) => z(b.min)));
          expect(got.max.map(z)).toEqual(want.map((b) => z(b.max)));
          expect(got.lastStep).toEqual(want.map((b) => b.lastStep));
          expect(got.last.map(z)).toEqual(want.map((b) => z(finite(b.last) ? b.last : String(b.last))));
        },
      ),
      { numRuns: 40 },
    );
  }, 180_000);

  it('on the time axis, every chart query matches a brute-force reference (steps logged in time order)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.record({ step: fc.integer({ min: 0, max: 40_000 }), value: wire }), { selector: (p) => p.step, minLength: 1, maxLength: 300 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 1200 }),
        fc.option(fc.tuple(fc.integer({ min: 0, max: 12_000_000 }), fc.integer({ min: 0, max: 12_000_000 })), { nil: undefined }),
        async (points, msPerStep, width, window) => {
          const runId = await newRun();
          const base = Date.parse('2026-11-26T12:00:00Z');
          const timeOf = (step: number) => base + step * msPerStep;
          await ingestMetrics(
            database.db,
            actor,
            { runId, points: points.map((p) => ({ key: 'loss', step: p.step, value: p.value, time: new Date(timeOf(p.step)) })) },
            limits,
          );

          const sorted = [...points].sort((a, b) => a.step - b.step);
          const [t0, t1] = window ? [base + Math.min(...window), base + Math.max(...window)] : [timeOf(sorted[0]!.step), timeOf(sorted.at(-1)!.step)];
          const { series, xAxis } = await metricSeries(database.db, actor, {
            projectId,
            runIds: [runId],
            key: 'loss',
            xAxis: 'time',
            range: window ? [t0, t1] : undefined,
            width,
          });
          expect(xAxis).toBe('time');
          const got = series[0]!;

          // the reference: the steps inside the window, the level their span resolves, buckets placed at their first time
          const inside = sorted.filter((p) => timeOf(p.step) >= t0 && timeOf(p.step) <= t1);
          if (!inside.length) return void expect(got.count).toEqual([]);
          const perPx = stepsPerPixel(t0, t1, width);
          const [s0, s1] = [inside[0]!.step, inside.at(-1)!.step];
          const span = Math.min(timeOf(s1), t1 + 1) - Math.max(timeOf(s0), t0);
          const level = levelFor((s1 - s0 + 1) / Math.max(1, span / perPx));
          expect(got.level).toBe(level);
          const w = 8 ** level;
          const taken = sorted.filter((p) => Math.floor(p.step / w) >= Math.floor(s0 / w) && Math.floor(p.step / w) <= Math.floor(s1 / w));
          const firstTimeOf = new Map<number, number>();
          for (const p of taken) if (!firstTimeOf.has(Math.floor(p.step / w))) firstTimeOf.set(Math.floor(p.step / w), timeOf(p.step));
          const px = new Map<number, { min: number | null; max: number | null; last: WireValue; lastStep: number; count: number }>();
          for (const p of taken) {
            const i = Math.max(0, Math.floor((firstTimeOf.get(Math.floor(p.step / w))! - t0) / perPx));
            const b = px.get(i) ?? { min: null, max: null, last: p.value, lastStep: p.step, count: 0 };
            if (finite(p.value)) {
              b.min = b.min === null ? p.value : Math.min(b.min, p.value);
              b.max = b.max === null ? p.value : Math.max(b.max, p.value);
            }
            Object.assign(b, { last: p.value, lastStep: p.step, count: b.count + 1 });
            px.set(i, b);
          }
          const want = [...px.entries()].sort(([a], [b]) => a - b);
          const z = (v: number | string | null) => (v === 0 ? 0 : v);
          expect(got.x).toEqual(want.map(([i]) => Math.max(t0, Math.ceil(t0 + i * perPx))));
          expect(got.count).toEqual(want.map(([, b]) => b.count));
          expect(got.min.map(z)).toEqual(want.map(([, b]) => z(b.min)));
          expect(got.max.map(z)).toEqual(want.map(([, b]) => z(b.max)));
          expect(got.lastStep).toEqual(want.map(([, b]) => b.lastStep));
          expect(got.last.map(z)).toEqual(want.map(([, b]) => z(finite(b.last) ? b.last : String(b.last))));
        },
      ),
      { numRuns: 40 },
    );
  }, 180_000);

  it("charts the runs' whole step extent, from the summary's first step or, for runs logged before it was kept, the rollups", async () => {
    const time = new Date('2026-11-27T00:00:00Z');
    const log = (runId: string, steps: number[]) =>
      ingestMetrics(database.db, actor, { runId, points: steps.map((step) => ({ key: 'loss', step, value: step, time })) }, limits);
    const [a, b] = [await newRun(), await newRun()];
    await log(a, [500, 501, 900]);
    await log(a, [37, 40]); // a later batch further back
    await log(b, [123_456, 200_000]);
    const extent = async () => (await metricSeries(database.db, actor, { projectId, runIds: [a, b], key: 'loss', width: 100 })).range;
    const summaryOf = async (runId: string) => (await database.db.select({ summary: runs.summary }).from(runs).where(eq(runs.id, runId)))[0]!.summary;
    expect((await summaryOf(a)).loss).toMatchObject({ first: 37, step: 900 });
    expect(await extent()).toEqual([37, 200_000]);
    // a run whose points predate `first`: unknown, so the extent comes from the rollups, and stays unknown after more points
    await database.db.execute(sql`update runs set summary = jsonb_set(summary, '{loss,first}', 'null') where id = ${a}::uuid`);
    await log(a, [1000]);
    expect((await summaryOf(a)).loss?.first).toBeNull();
    expect(await extent()).toEqual([37, 200_000]);
    await database.db.execute(sql`update runs set summary = summary #- '{loss,first}' where id = ${a}::uuid`);
    expect(await extent()).toEqual([37, 200_000]);
  });

  it('keeps NaN and ±Infinity as such, out of min/max, and in the summary', async () => {
    const runId = await newRun();
    const time = new Date();
    await ingestMetrics(
      database.db,
      actor,
      {
        runId,
        points: [
          { key: 'acc', step: 0, value: 0.5, time },
          { key: 'acc', step: 1, value: 'NaN', time },
          { key: 'acc', step: 2, value: 0.75, time },
          { key: 'acc', step: 3, value: 'Infinity', time },
        ],
      },
      limits,
    );
    const raw = await database.db.select().from(metricPoints).where(sql`${metricPoints.runId} = ${runId}`).orderBy(metricPoints.step);
    expect(raw.map((r) => r.value)).toEqual([0.5, NaN, 0.75, Infinity]);
    const rollups = await database.db.select().from(metricRollups).where(sql`${metricRollups.runId} = ${runId} and ${metricRollups.level} = 1`);
    expect(rollups[0]).toMatchObject({ count: 4, finiteCount: 2, min: 0.5, max: 0.75, sum: 1.25, last: Infinity, lastStep: 3 });
    const [run] = await database.db.select({ summary: runs.summary }).from(runs).where(eq(runs.id, runId));
    expect(run!.summary.acc).toEqual({ last: 'Infinity', step: 3, first: 0, min: 0.5, max: 0.75, mean: 0.625 });
  });

  it('takes extreme finite values (near the largest double, subnormal) without an arithmetic error', async () => {
    const runId = await newRun();
    const time = new Date();
    const huge = [0, 1, 2].map((step) => ({ key: 'huge', step, value: 1.7e308, time }));
    const tiny = [
      { key: 'tiny', step: 0, value: 4.4e-323, time },
      { key: 'tiny', step: 1, value: -7e-323, time },
      { key: 'tiny', step: 2, value: 2e-323, time },
    ];
    await ingestMetrics(database.db, actor, { runId, points: [...huge.slice(0, 2), ...tiny] }, limits);
    await ingestMetrics(database.db, actor, { runId, points: huge.slice(2) }, limits); // merged into stored sums
    const [run] = await database.db.select({ summary: runs.summary }).from(runs).where(eq(runs.id, runId));
    expect(run!.summary.huge).toMatchObject({ min: 1.7e308, max: 1.7e308, step: 2 });
    expect(run!.summary.huge!.mean).toBeLessThanOrEqual(Number.MAX_VALUE); // the sum saturated
    expect(Math.abs(run!.summary.tiny!.mean as number)).toBeLessThan(1e-322);
  });

  it('counts a step repeated within one batch once, keeping the first value', async () => {
    const runId = await newRun();
    const time = new Date();
    const result = await ingestMetrics(
      database.db,
      actor,
      {
        runId,
        points: [
          { key: 'dup', step: 5, value: 1, time },
          { key: 'dup', step: 5, value: 2, time },
          { key: 'dup', step: 6, value: 3, time },
        ],
      },
      limits,
    );
    expect(result).toEqual({ accepted: 3, inserted: 2 });
    const rollups = await database.db.select().from(metricRollups).where(sql`${metricRollups.runId} = ${runId}`);
    expect(rollups.every((r) => r.count === 2)).toBe(true);
    const raw = await database.db.select().from(metricPoints).where(sql`${metricPoints.runId} = ${runId}`).orderBy(metricPoints.step);
    expect(raw.map((r) => r.value)).toEqual([1, 3]);
  });

  it("deletes a run's points and rollups with the run (and with its project)", async () => {
    const time = new Date();
    const [gone, kept] = [await newRun(), await newRun()];
    for (const runId of [gone, kept]) await ingestMetrics(database.db, actor, { runId, points: [{ key: 'x', step: 1, value: 1, time }] }, limits);
    await database.db.delete(runs).where(eq(runs.id, gone));
    const left = async (table: typeof metricPoints | typeof metricRollups, runId: string) =>
      (await database.db.select().from(table).where(eq(table.runId, runId))).length;
    expect([await left(metricPoints, gone), await left(metricRollups, gone)]).toEqual([0, 0]);
    expect([await left(metricPoints, kept), await left(metricRollups, kept)]).toEqual([1, 6]);
    const { team, project } = await createWorkspace(database.db, { ...actor, via: 'session' }, { teamName: 'Doomed', projectName: 'Doomed' });
    const { runId: doomed } = await startRun(database.db, actor, {
      project: `${team.slug}/${project.slug}`,
      clientKey: 'doomed-run',
      notebookPath: 'd.ipynb',
      startedAt: time,
    });
    await ingestMetrics(database.db, actor, { runId: doomed, points: [{ key: 'x', step: 1, value: 1, time }] }, limits);
    await database.db.delete(projects).where(eq(projects.id, project.id));
    expect([await left(metricPoints, doomed), await left(metricRollups, doomed)]).toEqual([0, 0]);
  });

  it('keeps hand-set summary values beside the logged statistics, unsets them, and rejects bad keys whole', async () => {
    const runId = await newRun();
    await ingestMetrics(database.db, actor, { runId, points: [{ key: 'acc', step: 0, value: 0.5, time: new Date() }] }, limits);
    await setSummary(database.db, actor, { runId, set: { acc: 0.97, note: 'best so far', flag: true, gone: 'NaN' } }, limits);
    const summary = async () => (await database.db.select({ summary: runs.summary }).from(runs).where(eq(runs.id, runId)))[0]!.summary;
    expect(await summary()).toEqual({
      acc: { last: 0.5, step: 0, first: 0, min: 0.5, max: 0.5, mean: 0.5, value: 0.97 },
      note: { value: 'best so far' },
      flag: { value: true },
      gone: { value: 'NaN' },
    });
    await setSummary(database.db, actor, { runId, unset: ['acc', 'note'] }, limits);
    expect(await summary()).toEqual({ acc: { last: 0.5, step: 0, first: 0, min: 0.5, max: 0.5, mean: 0.5 }, flag: { value: true }, gone: { value: 'NaN' } });
    const error = await setSummary(database.db, actor, { runId, set: { ok: 1, ['x'.repeat(251)]: 2 } }, limits).catch((e) => e);
    expect(error.message).toMatch(/summary key "x+": must be 1–250 characters/);
    expect(Object.keys(await summary())).not.toContain('ok');
  });

  it('sorts runs by a summary aggregate, and by the hand-set value over the last one', async () => {
    const { team, project } = await createWorkspace(database.db, { ...actor, via: 'session' }, { teamName: 'Sorting', projectName: 'Sorting' });
    const time = new Date();
    const ids: string[] = [];
    for (const [i, values] of [
      [1, 9],
      [5, 6],
      [3, 2],
    ].entries()) {
      const { runId } = await startRun(database.db, actor, {
        project: `${team.slug}/${project.slug}`,
        clientKey: `sort-run-${i}`,
        notebookPath: 's.ipynb',
        startedAt: time,
      });
      await ingestMetrics(database.db, actor, { runId, points: values.map((value, step) => ({ key: 'gpu', step, value, time })) }, limits);
      ids.push(runId);
    }
    const order = async (by: string) => (await listRuns(database.db, actor, project.id, {}, { sort: { by, dir: 'desc' } })).runs.map((r) => ids.indexOf(r.id));
    expect(await order('summary-max.gpu')).toEqual([0, 1, 2]); // 9, 6, 3
    expect(await order('summary-mean.gpu')).toEqual([1, 0, 2]); // 5.5, 5, 2.5
    expect(await order('summary.gpu')).toEqual([0, 1, 2]); // last 9, 6, 2
    await setSummary(database.db, actor, { runId: ids[2]!, set: { gpu: 100 } }, limits);
    expect(await order('summary.gpu')).toEqual([2, 0, 1]);
  });

  it('parses wire points naming the bad field, each distinct time parsed once', () => {
    const time = '2026-11-26T12:00:00.123Z';
    const points = parsePoints([
      { key: 'a', step: 0, value: 1, time },
      { key: 'a', step: 1, value: 'NaN', time },
    ]);
    expect(points.map((p) => [p.key, p.step, p.value, p.time.toISOString()])).toEqual([
      ['a', 0, 1, time],
      ['a', 1, 'NaN', time],
    ]);
    expect(points[0]!.time).toBe(points[1]!.time);
    const bad = (p: unknown) => {
      try {
        parsePoints([{ key: 'ok', step: 0, value: 0, time }, p]);
      } catch (e) {
        return (e as Error).message;
      }
      return 'accepted';
    };
    expect(bad({ key: 'a', step: -1, value: 1, time })).toMatch(/^points\.1\.step: must be a non-negative integer/);
    expect(bad({ key: 'a', step: 1.5, value: 1, time })).toMatch(/^points\.1\.step/);
    expect(bad({ key: 'a', step: 1, value: 'high', time })).toMatch(/^points\.1\.value/);
    expect(bad({ key: 'a', step: 1, value: null, time })).toMatch(/^points\.1\.value/);
    expect(bad({ key: 7, step: 1, value: 1, time })).toMatch(/^points\.1\.key/);
    expect(bad({ key: 'a', step: 1, value: 1, time: '2026-11-26 12:00' })).toMatch(/^points\.1\.time: expected an ISO 8601/);
    expect(bad({ key: 'a', step: 1, value: 1, time: '2026-13-45T99:00:00Z' })).toMatch(/^points\.1\.time/);
    expect(bad('a')).toMatch(/^points\.1: expected an object/);
  });

  it('rejects too many keys and bad steps naming the limit, writing nothing', async () => {
    const runId = await newRun();
    const time = new Date();
    const many = Array.from({ length: 51 }, (_, i) => ({ key: `k${i}`, step: 0, value: 1, time }));
    const error = await ingestMetrics(database.db, actor, { runId, points: many }, limits).catch((e) => e);
    expect(error).toBeInstanceOf(DomainError);
    expect(error.message).toMatch(/51 distinct keys in one batch, over the limit of 50 \(CELLMARK_MAX_METRIC_KEYS_PER_BATCH\)/);
    const bad = await ingestMetrics(
      database.db,
      actor,
      {
        runId,
        points: [
          { key: 'a', step: 0, value: 1, time },
          { key: 'a', step: -1, value: 1, time },
        ],
      },
      limits,
    ).catch((e) => e);
    expect(bad.message).toMatch(/points\.1\.step/);
    expect(await database.db.select().from(metricPoints).where(sql`${metricPoints.runId} = ${runId}`)).toEqual([]);
  });
});
