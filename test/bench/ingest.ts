// Metric ingest throughput (issue 4): RUNS runs × KEYS keys × STEPS steps posted to the real
// Cellmark server over HTTP (`ingest.metrics`, JSON as the kernel sends it), against (a) raw
// `COPY … FROM STDIN` into a table shaped like metric_points on the same Postgres and (b) the
// MLflow tracking server over the same Postgres (`runs/log-batch`, 1,000 metrics per call).
// Then chart reads: Cellmark's `metrics.series` over HTTP beside MLflow's get-history and the
// sampled get-history-bulk-interval its UI charts call. One command, from the repo root:
//   DATABASE_URL=postgres://… npx tsx test/bench/ingest.ts
// env: RUNS (4), KEYS (10), STEPS (100000), BATCH (points per ingest call, 100000),
// CONCURRENCY (parallel uploaders, 2), MLFLOW_POINTS (100000: MLflow, ~1k points/s here, is
// measured on a subset of the same data), MLFLOW_WORKERS (its default, 4), QUERIES (chart
// reads per p50, 10; HISTORY_QUERIES, 3, for MLflow's full get-history), SKIP_MLFLOW=1, SKIP_COPY=1.
// The chart reads cover key k0 of min(RUNS, 100) runs × STEPS steps in both systems: MLflow's
// k0 beyond its logged subset is COPYed into its own metrics table (the read path is measured).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '@cellmark/db/testing';
import { boot, loadEnv } from '@cellmark/server';
import postgres from 'postgres';
import { ensureMlflow, type MlflowMetric, mlflowClient, startMlflow } from './mlflow.ts';
import { benchDatabase, intEnv, ms, percentiles } from './setup.ts';

const RUNS = intEnv('RUNS', 4);
const KEYS = intEnv('KEYS', 10);
const STEPS = intEnv('STEPS', 100_000);
const BATCH = intEnv('BATCH', 100_000);
const CONCURRENCY = intEnv('CONCURRENCY', 2);
const MLFLOW_POINTS = intEnv('MLFLOW_POINTS', 100_000);
const MLFLOW_WORKERS = intEnv('MLFLOW_WORKERS', 4);
const QUERIES = intEnv('QUERIES', 10);
const HISTORY_QUERIES = intEnv('HISTORY_QUERIES', 3); // MLflow get-history of every point is slow
const WIDTH = 1000;
const SKIP_MLFLOW = process.env.SKIP_MLFLOW === '1';
const SKIP_COPY = process.env.SKIP_COPY === '1';
const MLFLOW_BATCH = 1000; // MLflow's MAX_METRICS_PER_BATCH

const POINTS = RUNS * KEYS * STEPS;
const T0 = Date.parse('2026-01-01T00:00:00Z');
const keyName = (k: number) => `k${k}`;
const valueAt = (k: number, step: number) => Math.exp(-step / STEPS) * (1 + k) + 0.01 * Math.sin(step * 0.37 + k);
const timeAt = (step: number) => new Date(T0 + step * 10).toISOString();
// Each run's points in step order, all keys of a step together (as cellmark.log sends them),
// cut into batches of BATCH. Every run carries the same values (the run id differs).
const batchesPerRun = Math.ceil((KEYS * STEPS) / BATCH);
const batchRange = (b: number) => [b * BATCH, Math.min(KEYS * STEPS, (b + 1) * BATCH)] as const;

const cleanups: (() => Promise<unknown>)[] = [];
async function cleanUp() {
  while (cleanups.length) await cleanups.pop()!().catch((e: unknown) => console.error('cleanup:', e));
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: cleaning up`);
    void cleanUp().finally(() => process.exit(130));
  });
}

/** Runs `work` for each run with `CONCURRENCY` workers, each taking whole runs (one uploader per kernel). */
async function uploaders(runIds: string[], work: (runId: string, index: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, runIds.length) }, async () => {
      while (next < runIds.length) {
        const i = next++;
        await work(runIds[i]!, i);
      }
    }),
  );
}

const rate = (points: number, seconds: number) => `${Math.round(points / seconds).toLocaleString('en-US')} points/s`;
const millions = (n: number) => `${(n / 1e6).toFixed(n < 1e6 ? 2 : 1)}M`;

async function timed<T>(fn: () => Promise<T>) {
  const start = performance.now();
  const result = await fn();
  return { result, seconds: (performance.now() - start) / 1000 };
}

async function p50(fn: () => Promise<unknown>, queries = QUERIES) {
  await fn(); // warm
  const samples: number[] = [];
  for (let i = 0; i < queries; i++) samples.push((await timed(fn)).seconds * 1000);
  return percentiles(samples).p50;
}

function gitState() {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', path.join(import.meta.dirname, '../../server/src/domain/metrics')], {
      encoding: 'utf8',
    }).trim();
    return `${head}${dirty ? ' + uncommitted changes in server/src/domain/metrics' : ''}`;
  } catch {
    return 'unknown';
  }
}

const { url: dbUrl, drop } = await benchDatabase();
cleanups.push(drop);
const admin = postgres(dbUrl, { max: CONCURRENCY + 1, onnotice: () => {} });
cleanups.push(() => admin.end());
const rowCount = async (table: string) => Number((await admin.unsafe<{ n: string }[]>(`select count(*) as n from ${table}`))[0]!.n);
try {
  const settings = await admin<{ name: string; setting: string }[]>`
    select name, current_setting(name) as setting from pg_settings
    where name in ('server_version', 'fsync', 'synchronous_commit', 'full_page_writes', 'wal_level', 'shared_buffers', 'max_wal_size')
    order by name`;
  console.log(`Cellmark ${gitState()}; Postgres ${settings.map((s) => `${s.name}=${s.setting}`).join(', ')}`);
  console.log(
    `scale: ${RUNS} runs × ${KEYS} keys × ${STEPS.toLocaleString('en-US')} steps = ${millions(POINTS)} points; ` +
      `${BATCH.toLocaleString('en-US')} points per call (${batchesPerRun} calls per run); ${CONCURRENCY} parallel uploaders, one run each at a time`,
  );

  // ---- Cellmark: the real server in-process, everything over HTTP as the kernel does it
  const dataDir = mkdtempSync(path.join(tmpdir(), 'cellmark-bench-'));
  cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  const port = await freePort(); // known up front: better-auth checks the origin against the public URL
  const server = await boot(
    loadEnv({
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      CELLMARK_PUBLIC_URL: `http://127.0.0.1:${port}`,
      DATABASE_URL: dbUrl,
      CELLMARK_NO_WEB: '1',
      CELLMARK_DATA_DIR: dataDir,
      CELLMARK_SECRET: randomBytes(32).toString('hex'),
      LOG_LEVEL: 'warn',
    }),
  );
  cleanups.push(() => server.stop());
  /** a tRPC mutation over plain HTTP (docs/ingest-api.md); `body` when it is serialised already */
  const trpc = async <T>(procedure: string, headers: Record<string, string>, input: unknown, body?: string): Promise<T> => {
    const res = await fetch(`${server.url}/api/trpc/${procedure}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: body ?? JSON.stringify(input),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${procedure}: ${res.status} ${text.slice(0, 500)}`);
    return (JSON.parse(text) as { result: { data: T } }).result.data;
  };
  const signUp = await fetch(`${server.url}/api/auth/sign-up/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: server.url },
    body: JSON.stringify({ name: 'Bench', email: 'bench@example.test', password: 'correct horse battery' }),
  });
  if (!signUp.ok) throw new Error(`sign-up: ${signUp.status} ${await signUp.text()}`);
  // sign-up never signs in (see server/src/auth.ts)
  const signIn = await fetch(`${server.url}/api/auth/sign-in/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: server.url },
    body: JSON.stringify({ email: 'bench@example.test', password: 'correct horse battery' }),
  });
  if (!signIn.ok) throw new Error(`sign-in: ${signIn.status} ${await signIn.text()}`);
  const session = {
    cookie: signIn.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; '),
    origin: server.url,
  };
  const { team, project } = await trpc<{ team: { slug: string }; project: { id: string; slug: string } }>('setup.createWorkspace', session, {
    teamName: 'Bench',
    projectName: 'Ingest',
  });
  const { token } = await trpc<{ token: string }>('tokens.create', session, { name: 'bench' });
  const bearer = { authorization: `Bearer ${token}` };

  // Request bodies are serialised before the clock starts (the kernel's spool holds them
  // ready-made); the clock covers HTTP, parsing, validation and the database.
  const pointsJson = Array.from({ length: batchesPerRun }, (_, b) => {
    const [from, to] = batchRange(b);
    const points = [];
    for (let i = from; i < to; i++) {
      const step = Math.floor(i / KEYS);
      const k = i % KEYS;
      points.push({ key: keyName(k), step, value: valueAt(k, step), time: timeAt(step) });
    }
    return JSON.stringify(points);
  });
  const bodyBytes = pointsJson.reduce((n, s) => n + s.length, 0) / batchesPerRun;

  const cellmarkRuns: string[] = [];
  for (let r = 0; r < RUNS; r++) {
    const { runId } = await trpc<{ runId: string }>('ingest.startRun', bearer, {
      project: `${team.slug}/${project.slug}`,
      clientKey: `bench-ingest-${r}`,
      notebookPath: 'bench/ingest.ipynb',
      startedAt: new Date(T0).toISOString(),
    });
    cellmarkRuns.push(runId);
  }
  await admin`checkpoint`;
  const cellmark = await timed(() =>
    uploaders(cellmarkRuns, async (runId) => {
      for (let b = 0; b < batchesPerRun; b++) {
        const [from, to] = batchRange(b);
        const { inserted } = await trpc<{ inserted: number }>('ingest.metrics', bearer, undefined, `{"runId":"${runId}","points":${pointsJson[b]}}`);
        if (inserted !== to - from) throw new Error(`ingest.metrics inserted ${inserted} of ${to - from} points`);
      }
    }),
  );
  const stored = await rowCount('metric_points');
  if (stored !== POINTS) throw new Error(`metric_points holds ${stored} points, expected ${POINTS}`);
  pointsJson.length = 0;
  console.log(
    `Cellmark ingest.metrics over HTTP (JSON, not gzipped, ~${(bodyBytes / 2 ** 20).toFixed(1)} MiB per call): ` +
      `${millions(POINTS)} points in ${cellmark.seconds.toFixed(1)} s = ${rate(POINTS, cellmark.seconds)}`,
  );

  // ---- Raw COPY into a table with metric_points' columns and primary key, same data, same database
  let copySeconds: number | undefined;
  if (!SKIP_COPY) {
    await admin`create table bench_copy_points (run_id uuid not null, key_id int not null, step bigint not null, value float8 not null, time timestamptz not null, primary key (run_id, key_id, step))`;
    const RUN = '00000000-0000-0000-0000-000000000000';
    const copyText = Array.from({ length: batchesPerRun }, (_, b) => {
      const [from, to] = batchRange(b);
      let text = '';
      for (let i = from; i < to; i++) {
        const step = Math.floor(i / KEYS);
        const k = i % KEYS;
        text += `${RUN}\t${k + 1}\t${step}\t${valueAt(k, step)}\t${timeAt(step)}\n`;
      }
      return text;
    });
    const copyRuns = Array.from({ length: RUNS }, () => crypto.randomUUID());
    await admin`checkpoint`;
    const copy = await timed(() =>
      uploaders(copyRuns, async (runId) => {
        for (let b = 0; b < batchesPerRun; b++) {
          // one COPY (one transaction) per batch, like one ingest call
          const stream = await admin`copy bench_copy_points (run_id, key_id, step, value, time) from stdin`.writable();
          // 'finish' comes once Postgres has answered CopyDone (the rows are committed)
          await new Promise<void>((resolve, reject) => {
            stream.on('error', reject);
            stream.end(copyText[b]!.replaceAll(RUN, runId), resolve);
          });
        }
      }),
    );
    const copied = await rowCount('bench_copy_points');
    if (copied !== POINTS) throw new Error(`COPY table holds ${copied} rows, expected ${POINTS}`);
    copySeconds = copy.seconds;
    console.log(
      `raw COPY FROM STDIN (text, one COPY per ${BATCH.toLocaleString('en-US')} rows, same PK): ${millions(POINTS)} points in ${copy.seconds.toFixed(1)} s = ${rate(POINTS, copy.seconds)}`,
    );
  }

  // ---- MLflow tracking server over the same Postgres
  let mlflow: { points: number; seconds: number; version: string; workers: number } | undefined;
  const mlflowRuns: string[] = [];
  let mlflowSteps = 0;
  let mlflowApi: ReturnType<typeof mlflowClient> | undefined;
  let mlflowLog = () => '';
  let mlflowTopUp: (() => Promise<void>) | undefined;
  if (!SKIP_MLFLOW) {
    const version = ensureMlflow();
    const mlDb = `cellmark_bench_mlflow_${randomBytes(4).toString('hex')}`;
    await admin.unsafe(`create database ${mlDb}`);
    cleanups.push(() => admin.unsafe(`drop database if exists ${mlDb} with (force)`));
    const mlUrl = new URL(dbUrl);
    mlUrl.pathname = `/${mlDb}`;
    const ml = await startMlflow(mlUrl.toString(), MLFLOW_WORKERS);
    mlflowLog = ml.recentLog;
    cleanups.push(() => ml.stop());
    const api = mlflowClient(ml.url);
    mlflowApi = api;
    // the same runs and keys, the first mlflowSteps steps of each: MLFLOW_POINTS in all
    mlflowSteps = Math.max(1, Math.floor(MLFLOW_POINTS / (RUNS * KEYS)));
    const points = RUNS * KEYS * mlflowSteps;
    const experiment = await api.createExperiment(`bench-${randomBytes(3).toString('hex')}`);
    for (let r = 0; r < RUNS; r++) mlflowRuns.push(await api.createRun(experiment, `bench-${r}`));
    await admin`checkpoint`;
    const run = await timed(() =>
      uploaders(mlflowRuns, async (runId) => {
        for (let from = 0; from < KEYS * mlflowSteps; from += MLFLOW_BATCH) {
          const metrics: MlflowMetric[] = [];
          for (let i = from; i < Math.min(KEYS * mlflowSteps, from + MLFLOW_BATCH); i++) {
            const step = Math.floor(i / KEYS);
            const k = i % KEYS;
            metrics.push({ key: keyName(k), value: valueAt(k, step), timestamp: T0 + step * 10, step });
          }
          await api.logBatch(runId, metrics).catch((e: unknown) => {
            throw new Error(`${(e as Error).message}\nmlflow server log:\n${ml.recentLog()}`);
          });
        }
      }),
    );
    mlflow = { points, seconds: run.seconds, version, workers: ml.workers };
    // For the chart reads, the rest of k0 (steps mlflowSteps… STEPS-1) goes straight into
    // MLflow's own table, so both systems read the same RUNS × STEPS history.
    mlflowTopUp = async () => {
      const mlSql = postgres(mlUrl.toString(), { max: 1, onnotice: () => {} });
      try {
        for (const runId of mlflowRuns.slice(0, 100)) {
          let text = '';
          for (let step = mlflowSteps; step < STEPS; step++) text += `${keyName(0)}\t${valueAt(0, step)}\t${T0 + step * 10}\t${runId}\t${step}\tf\n`;
          const stream = await mlSql`copy metrics (key, value, timestamp, run_uuid, step, is_nan) from stdin`.writable();
          await new Promise<void>((resolve, reject) => {
            stream.on('error', reject);
            stream.end(text, resolve);
          });
        }
        await mlSql`analyze metrics`;
      } finally {
        await mlSql.end();
      }
    };
    console.log(
      `MLflow ${version} runs/log-batch (${MLFLOW_BATCH} metrics per call, ${ml.workers} server workers), measured on a subset: ` +
        `${RUNS} runs × ${KEYS} keys × ${mlflowSteps.toLocaleString('en-US')} steps = ${millions(points)} points in ${run.seconds.toFixed(1)} s = ${rate(points, run.seconds)}`,
    );
  }

  const cellmarkRate = POINTS / cellmark.seconds;
  console.log('');
  if (copySeconds !== undefined) console.log(`Cellmark / raw COPY: ${(cellmarkRate / (POINTS / copySeconds)).toFixed(2)} (target ≥ 0.5)`);
  if (mlflow) console.log(`Cellmark / MLflow:   ${(cellmarkRate / (mlflow.points / mlflow.seconds)).toFixed(1)}× (target ≥ 10×)`);

  // ---- Chart reads: one key of every run
  console.log('');
  const seriesGet = (range?: [number, number]) =>
    fetch(
      `${server.url}/api/trpc/metrics.series?input=${encodeURIComponent(JSON.stringify({ projectId: project.id, runIds: cellmarkRuns, key: keyName(0), width: WIDTH, ...(range ? { range } : {}) }))}`,
      {
        headers: session,
      },
    ).then(async (res) => {
      if (!res.ok) throw new Error(`metrics.series: ${res.status} ${(await res.text()).slice(0, 300)}`);
      return res.json();
    });
  const chartRuns = Math.min(RUNS, 100); // a chart's limit in both systems
  console.log(
    `chart reads: key ${keyName(0)} of ${chartRuns} runs × ${STEPS.toLocaleString('en-US')} steps (${millions(chartRuns * STEPS)} points), p50 of ${QUERIES} after a warm-up:`,
  );
  const fullP50 = await p50(() => seriesGet());
  console.log(`  Cellmark metrics.series (tRPC GET, ${WIDTH} px min/max/last/count from rollups): p50 ${ms(fullP50)}`);
  if (mlflowApi && mlflowTopUp) {
    const api = mlflowApi;
    await mlflowTopUp();
    const runs = mlflowRuns.slice(0, chartRuns);
    for (const maxResults of [320, WIDTH]) {
      let returned = 0;
      const sampled = await p50(async () => {
        returned = (await api.getHistoryBulkInterval(runs, keyName(0), maxResults)).length;
      });
      const what = maxResults === 320 ? 'what its UI charts call: 320' : `${maxResults}`;
      console.log(
        `  MLflow get-history-bulk-interval (${what} raw points sampled per run, no min/max; ${returned} in all): p50 ${ms(sampled)}  (Cellmark ${(sampled / fullP50).toFixed(1)}× faster)`,
      );
    }
    // at 100 runs × 100k steps MLflow's server has dropped these calls (a worker ending mid-request):
    // that is a result too, so it is reported with how long the failed attempt took
    const started = performance.now();
    try {
      const history = await p50(async () => {
        const all = await Promise.all(runs.map((id) => api.getHistory(id, keyName(0))));
        const n = all.reduce((s, h) => s + h.length, 0);
        if (n !== chartRuns * STEPS) throw new Error(`get-history returned ${n} points, expected ${chartRuns * STEPS}`);
      }, HISTORY_QUERIES);
      console.log(
        `  MLflow get-history (every point, one call per run, all in parallel; p50 of ${HISTORY_QUERIES}): p50 ${ms(history)}  (Cellmark ${(history / fullP50).toFixed(1)}× faster)`,
      );
    } catch (e) {
      const cause = e instanceof Error ? `${e.message}${e.cause instanceof Error ? ` (${e.cause.message})` : ''}` : String(e);
      console.log(`  MLflow get-history (every point, one call per run, all in parallel): failed after ${ms(performance.now() - started)}: ${cause}`);
      console.log(
        `  MLflow's log, last lines:\n${mlflowLog()
          .split('\n')
          .slice(-8)
          .map((l) => `    ${l}`)
          .join('\n')}`,
      );
    }
  }
} finally {
  await cleanUp();
}
