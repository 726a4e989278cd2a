// Shared MLflow helpers for benchmarks that compare with the MLflow tracking server: a venv
// made on first use (test/bench/.venv-mlflow, gitignored), `mlflow server` on a free port
// over a Postgres database, and the few REST calls the benches need.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '@cellmark/db/testing';

const venv = path.join(import.meta.dirname, '.venv-mlflow');
const bin = (name: string) => path.join(venv, 'bin', name);

/** Creates the venv with `pip install mlflow psycopg2-binary` unless it is there; returns MLflow's version. */
export function ensureMlflow(): string {
  if (!existsSync(bin('mlflow'))) {
    const python = process.env.PYTHON ?? 'python3';
    console.error(`creating ${path.relative(process.cwd(), venv)} (pip install mlflow psycopg2-binary; a few minutes, once)`);
    for (const [cmd, args] of [
      [python, ['-m', 'venv', venv]],
      [bin('pip'), ['install', '--quiet', 'mlflow', 'psycopg2-binary']],
    ] as const) {
      const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
      if (r.status !== 0) {
        rmSync(venv, { recursive: true, force: true });
        throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
      }
    }
  }
  const r = spawnSync(bin('python'), ['-c', 'import mlflow; print(mlflow.__version__)'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mlflow in ${venv} does not import: ${r.stderr}`);
  return r.stdout.trim();
}

export interface MlflowServer {
  url: string;
  workers: number;
  /** the last 4 KB of its stderr, for error messages */
  recentLog(): string;
  stop(): Promise<void>;
}

/**
 * Starts `mlflow server` over the Postgres database at `databaseUrl` (MLflow migrates it on
 * start). Its gunicorn/uvicorn workers run in their own process group, which stop() ends.
 */
export async function startMlflow(databaseUrl: string, workers: number): Promise<MlflowServer> {
  // SQLAlchemy 2.1 maps postgresql:// to psycopg 3; the venv has psycopg2 (the usual choice)
  const backendStoreUri = databaseUrl.replace(/^postgres(ql)?:\/\//, 'postgresql+psycopg2://');
  const port = await freePort();
  const artifacts = mkdtempSync(path.join(tmpdir(), 'cellmark-bench-mlartifacts-'));
  const args = [
    'server',
    '--backend-store-uri',
    backendStoreUri,
    '--default-artifact-root',
    artifacts,
    '--no-serve-artifacts',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--workers',
    String(workers),
  ];
  const child: ChildProcess = spawn(bin('mlflow'), args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  });
  let exited = false;
  child.once('exit', () => (exited = true));
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      /* already gone */
    }
  };
  // last resort if the bench dies without running its cleanup
  const onExit = () => killGroup('SIGKILL');
  process.once('exit', onExit);
  const stop = async () => {
    process.off('exit', onExit);
    if (!exited) {
      killGroup('SIGTERM');
      const deadline = Date.now() + 10_000;
      while (!exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      killGroup('SIGKILL');
    }
    rmSync(artifacts, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`mlflow server exited during start-up:\n${log}`);
    }
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`mlflow server did not answer /health within 180 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, workers, recentLog: () => log, stop };
}

async function call<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  const text = await res.text();
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url.replace(/\?.*/, '')}: ${res.status} ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

const postJson = <T>(url: string, body: unknown) =>
  call<T>(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

export interface MlflowMetric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

/** MLflow's REST API (`/api/2.0/mlflow/...`), and the UI's sampled chart endpoint. */
export function mlflowClient(base: string) {
  return {
    createExperiment: async (name: string) => (await postJson<{ experiment_id: string }>(`${base}/api/2.0/mlflow/experiments/create`, { name })).experiment_id,
    createRun: async (experimentId: string, runName: string) =>
      (
        await postJson<{ run: { info: { run_id: string } } }>(`${base}/api/2.0/mlflow/runs/create`, {
          experiment_id: experimentId,
          run_name: runName,
          start_time: Date.now(),
        })
      ).run.info.run_id,
    /** At most 1,000 metrics per call (MLflow's MAX_METRICS_PER_BATCH). */
    logBatch: (runId: string, metrics: MlflowMetric[]) => postJson<unknown>(`${base}/api/2.0/mlflow/runs/log-batch`, { run_id: runId, metrics }),
    /** Full history of one key of one run (every point; follows next_page_token if the server pages). */
    getHistory: async (runId: string, key: string) => {
      const metrics: MlflowMetric[] = [];
      let token: string | undefined;
      do {
        const q = new URLSearchParams({ run_id: runId, metric_key: key, ...(token ? { page_token: token } : {}) });
        const page = await call<{ metrics?: MlflowMetric[]; next_page_token?: string }>(`${base}/api/2.0/mlflow/metrics/get-history?${q}`);
        metrics.push(...(page.metrics ?? []));
        token = page.next_page_token;
      } while (token);
      return metrics;
    },
    /** What the MLflow UI's charts call: up to 100 runs, `maxResults` points per run sampled evenly (UI: 320). */
    getHistoryBulkInterval: async (runIds: string[], key: string, maxResults: number) => {
      const q = new URLSearchParams({ metric_key: key, max_results: String(maxResults) });
      for (const id of runIds) q.append('run_ids', id);
      return (
        (await call<{ metrics?: (MlflowMetric & { run_id: string })[] }>(`${base}/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval?${q}`)).metrics ?? []
      );
    },
  };
}
