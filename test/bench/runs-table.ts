// Runs table at scale: RUNS runs (default 10,000) with KEYS config keys (default 50);
// p50/p99 of runs.list sorted by a config key with a filter, against the same query written
// directly in SQL (the floor any API can reach). One command:
//   DATABASE_URL=postgres://… npx tsx test/bench/runs-table.ts
import { runs, sql } from '@cellmark/db';
import { listRuns } from '../../server/src/domain/runs.ts';
import { benchDatabase, benchProject, intEnv, ms, percentiles } from './setup.ts';

const RUNS = intEnv('RUNS', 10_000);
const KEYS = intEnv('KEYS', 50);
const QUERIES = intEnv('QUERIES', 50);

const { database, drop } = await benchDatabase();
try {
  const { actor, projectId, newRun } = await benchProject(database);
  const t0 = performance.now();
  const ids: string[] = [];
  for (let i = 0; i < RUNS; i++) ids.push(await newRun(i));
  // config straight into the denormalised column, as ingest leaves it
  await database.db.execute(sql`
    update ${runs} set config = (
      select jsonb_object_agg('key_' || k, case when k % 5 = 0 then to_jsonb('opt_' || ((hashtext(${runs.id}::text) + k) % 4)) else to_jsonb(((hashtext(${runs.id}::text) + k) % 1000) / 1000.0) end)
      from generate_series(0, ${KEYS - 1}) k)
    where ${runs.projectId} = ${projectId}`);
  await database.db.execute(
    sql`insert into project_config_keys select distinct project_id, jsonb_object_keys(config) from ${runs} where project_id = ${projectId} on conflict do nothing`,
  );
  await database.db.execute(sql`analyze`);
  console.log(`seeded ${RUNS} runs × ${KEYS} config keys in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const filter = { config: [{ key: 'key_5', value: 'opt_1' }] };
  const api: number[] = [];
  for (let i = 0; i < QUERIES; i++) {
    const start = performance.now();
    const page = await listRuns(database.db, actor, projectId, filter, { sort: { by: `config.key_${1 + (i % 4)}`, dir: i % 2 ? 'asc' : 'desc' }, limit: 100 });
    api.push(performance.now() - start);
    if (i === 0) console.log(`matching runs: ${page.total}`);
  }
  const raw: number[] = [];
  for (let i = 0; i < QUERIES; i++) {
    const start = performance.now();
    await database.db.execute(sql`
      select id, name, config from ${runs}
      where project_id = ${projectId} and config -> 'key_5' = '"opt_1"'::jsonb
      order by config -> ${`key_${1 + (i % 4)}`} ${i % 2 ? sql`asc` : sql`desc`} nulls last limit 100`);
    raw.push(performance.now() - start);
  }
  const a = percentiles(api);
  const r = percentiles(raw);
  console.log(`runs.list (sort by config key + filter, page of 100): p50 ${ms(a.p50)}, p99 ${ms(a.p99)} over ${a.n} queries`);
  console.log(`same query in plain SQL:                          p50 ${ms(r.p50)}, p99 ${ms(r.p99)}`);
  console.log(`ratio runs.list / plain SQL (p50): ${(a.p50 / r.p50).toFixed(2)}×`);
} finally {
  await drop();
}
