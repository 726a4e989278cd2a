// Chart query at scale: RUNS runs (default 100) × STEPS steps (default 1,000,000) of one
// key, ingested through the metric ingest path; then p50/p99 of a 1,000-pixel min/max/last
// query over all runs (full range, and zoomed to 1% windows), against the same bucketing
// computed from raw points (what a chart costs without rollups). One command:
//   DATABASE_URL=postgres://… npx tsx test/bench/chart-query.ts        (RUNS=… STEPS=… to scale)
import { sql } from '@cellmark/db';
import { ingestMetrics, type MetricPointInput } from '@cellmark/server/domain/metrics/ingest';
import { metricSeries } from '@cellmark/server/domain/metrics/series';
import { benchDatabase, benchProject, intEnv, ms, percentiles } from './setup.ts';

const RUNS = intEnv('RUNS', 100);
const STEPS = intEnv('STEPS', 1_000_000);
const WIDTH = intEnv('WIDTH', 1000);
const QUERIES = intEnv('QUERIES', 30);
const BATCH = 100_000;

const { database, drop } = await benchDatabase();
try {
  const { actor, projectId, newRun } = await benchProject(database);
  const runIds: string[] = [];
  const t0 = performance.now();
  const limits = { maxKeysPerBatch: 1000, maxPointsPerBatch: BATCH };
  const time = new Date();
  for (let r = 0; r < RUNS; r++) {
    const runId = await newRun(r);
    runIds.push(runId);
    for (let from = 0; from < STEPS; from += BATCH) {
      const points: MetricPointInput[] = [];
      for (let step = from; step < Math.min(STEPS, from + BATCH); step++) {
        points.push({ key: 'loss', step, value: Math.exp(-step / STEPS) + 0.05 * Math.sin(step * (r + 1)), time });
      }
      await ingestMetrics(database.db, actor, { runId, points }, limits);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  console.log(`ingested ${RUNS} runs × ${STEPS} steps (${((RUNS * STEPS) / 1e6).toFixed(1)}M points) in ${seconds.toFixed(0)} s: ${Math.round((RUNS * STEPS) / seconds)} points/s`);
  await database.db.execute(sql`analyze`);

  const measure = async (label: string, run: (i: number) => Promise<unknown>) => {
    await run(0); // warm
    const samples: number[] = [];
    for (let i = 0; i < QUERIES; i++) {
      const start = performance.now();
      await run(i);
      samples.push(performance.now() - start);
    }
    const p = percentiles(samples);
    console.log(`${label.padEnd(52)} p50 ${ms(p.p50)}, p99 ${ms(p.p99)}`);
    return p;
  };

  const full = await measure(`rollups: ${RUNS} runs, full range, ${WIDTH} px`, () => metricSeries(database.db, actor, { projectId, runIds, key: 'loss', width: WIDTH }));
  await measure(`rollups: ${RUNS} runs, 1% window, ${WIDTH} px`, (i) => {
    const x0 = Math.floor(((i * 7919) % 99) * (STEPS / 100));
    return metricSeries(database.db, actor, { projectId, runIds, key: 'loss', range: [x0, x0 + STEPS / 100 - 1], width: WIDTH });
  });
  const runList = `{${runIds.join(',')}}`;
  const perPx = STEPS / WIDTH;
  const raw = await measure(`raw points, same buckets (no rollups)`, () =>
    database.db.execute(sql`
      select run_id, floor(step / ${perPx}::float8)::int as px, min(value), max(value), (array_agg(value order by step desc))[1], count(*)
      from metric_points where run_id = any(${runList}::uuid[]) group by run_id, px`),
  );
  console.log(`speed-up of rollups over raw points (p50): ${(raw.p50 / full.p50).toFixed(1)}×`);
} finally {
  await drop();
}
