// Chart query at scale: RUNS runs (default 100) × STEPS steps (default 1,000,000) of one
// key, ingested through the metric ingest path (CONCURRENCY uploaders); then p50/p99 of a
// 1,000-pixel min/max/last query over all runs (full range on the step and wall-time axes,
// and zoomed to 1% windows), against the same bucketing computed from raw points (what a
// chart costs without rollups; RAW_QUERIES samples, it is slow). One command:
//   DATABASE_URL=postgres://… npx tsx test/bench/chart-query.ts        (RUNS=… STEPS=… to scale)
// KEEP=1 keeps the database and prints its name; REUSE=<name> then measures again without ingesting;
// SKIP_RAW=1 leaves out the raw-points baseline (~100 s a query at full scale).
import { createDb, type Database, resultRows, sql } from '@cellmark/db';
import { ingestMetrics, type MetricPointInput } from '../../server/src/domain/metrics/ingest.ts';
import { metricSeries } from '../../server/src/domain/metrics/series.ts';
import type { Actor } from '../../server/src/domain/policy.ts';
import { benchDatabase, benchProject, intEnv, ms, percentiles } from './setup.ts';

const RUNS = intEnv('RUNS', 100);
const STEPS = intEnv('STEPS', 1_000_000);
const WIDTH = intEnv('WIDTH', 1000);
const QUERIES = intEnv('QUERIES', 30);
const BATCH = 100_000;
const CONCURRENCY = intEnv('CONCURRENCY', 2);
const RAW_QUERIES = intEnv('RAW_QUERIES', 3);

// REUSE=<database> measures the queries on a database an earlier KEEP=1 run left (no ingest)
const reuse = process.env.REUSE;
const { database, drop, keep } = reuse ? await reuseDatabase(reuse) : await benchDatabase();
try {
  const { actor, projectId, runIds } = reuse ? await existingProject(database) : await ingestAll(database);
  await database.db.execute(sql`analyze`);

  const measure = async (label: string, run: (i: number) => Promise<unknown>, queries = QUERIES) => {
    await run(0); // warm
    const samples: number[] = [];
    for (let i = 0; i < queries; i++) {
      const start = performance.now();
      await run(i);
      samples.push(performance.now() - start);
    }
    const p = percentiles(samples);
    console.log(`${label.padEnd(52)} p50 ${ms(p.p50)}, p99 ${ms(p.p99)}`);
    return p;
  };

  console.log(
    `Postgres: ${((await database.db.execute(sql`select version()`)) as unknown as { version: string }[])[0]?.version.split(' on ')[0]}; load average now ${(
      await import('node:os')
    )
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  const full = await measure(`rollups: ${RUNS} runs, full range, ${WIDTH} px`, () =>
    metricSeries(database.db, actor, { projectId, runIds, key: 'loss', width: WIDTH }),
  );
  await measure(`rollups: ${RUNS} runs, full range, wall-time axis`, () =>
    metricSeries(database.db, actor, { projectId, runIds, key: 'loss', xAxis: 'time', width: WIDTH }),
  );
  await measure(`rollups: ${RUNS} runs, 1% window, ${WIDTH} px`, (i) => {
    const x0 = Math.floor(((i * 7919) % 99) * (STEPS / 100));
    return metricSeries(database.db, actor, { projectId, runIds, key: 'loss', range: [x0, x0 + STEPS / 100 - 1], width: WIDTH });
  });
  if (!process.env.SKIP_RAW) {
    const runList = `{${runIds.join(',')}}`;
    const perPx = STEPS / WIDTH;
    const raw = await measure(
      `raw points, same buckets (no rollups)`,
      () =>
        database.db.execute(sql`
        select run_id, floor(step / ${perPx}::float8)::int as px, min(value), max(value), (array_agg(value order by step desc))[1], count(*)
        from metric_points where run_id = any(${runList}::uuid[]) group by run_id, px`),
      RAW_QUERIES,
    );
    console.log(`speed-up of rollups over raw points (p50): ${(raw.p50 / full.p50).toFixed(1)}×`);
  }
} finally {
  if (process.env.KEEP && !reuse)
    console.log(`kept the database (REUSE=${resultRows<{ d: string }>(await database.db.execute(sql`select current_database() as d`))[0]!.d})`);
  await (process.env.KEEP && !reuse ? keep() : drop());
}

async function ingestAll(database: Database) {
  const { actor, projectId, newRun } = await benchProject(database);
  const runIds: string[] = [];
  for (let r = 0; r < RUNS; r++) runIds.push(await newRun(r));
  const t0 = performance.now();
  const limits = { maxKeysPerBatch: 1000, maxPointsPerBatch: BATCH };
  const time = Date.now() - STEPS * 10;
  // CONCURRENCY uploaders, one run at a time each, batches of BATCH steps (what the kernel sends)
  let next = 0;
  const uploader = async () => {
    for (let r = next++; r < RUNS; r = next++) {
      for (let from = 0; from < STEPS; from += BATCH) {
        const points: MetricPointInput[] = [];
        for (let step = from; step < Math.min(STEPS, from + BATCH); step++) {
          points.push({ key: 'loss', step, value: Math.exp(-step / STEPS) + 0.05 * Math.sin(step * (r + 1)), time: new Date(time + step * 10) });
        }
        await ingestMetrics(database.db, actor, { runId: runIds[r]!, points }, limits);
      }
      if ((r + 1) % 10 === 0) console.log(`  ${r + 1}/${RUNS} runs ingested (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, uploader));
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    `ingested ${RUNS} runs × ${STEPS} steps (${((RUNS * STEPS) / 1e6).toFixed(1)}M points) in ${seconds.toFixed(0)} s: ${Math.round((RUNS * STEPS) / seconds)} points/s`,
  );
  return { actor, projectId, runIds };
}

async function reuseDatabase(name: string) {
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `/${name}`;
  const database = await createDb({ url: url.toString(), max: 8 });
  return { database, drop: () => database.close(), keep: () => database.close() };
}

async function existingProject(database: Database) {
  const rows = resultRows<{ id: string; project_id: string }>(await database.db.execute(sql`select id, project_id from runs order by started_at desc`));
  return { actor: { userId: 'bench', via: 'token' } as Actor, projectId: rows[0]!.project_id, runIds: rows.map((r) => r.id) };
}
