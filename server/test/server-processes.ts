// Real Cellmark server processes for tests that need more than one, or need to kill one.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { freePort, throwawayDatabase } from '@cellmark/db/testing';
import { eventually } from './helpers.ts';

const main = path.resolve(import.meta.dirname, '../src/main.ts');

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  /** stdout and stderr as they arrived */
  log: () => string;
  stderr: () => string;
}

/** Starts a server process and returns at once (a test of start-up failures waits on `exited`). */
export async function spawnServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const port = String(await freePort());
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: {
      PATH: process.env.PATH!,
      HOME: process.env.HOME ?? '/tmp',
      CELLMARK_NO_WEB: '1',
      HOST: '127.0.0.1',
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      CELLMARK_SECRET: 'process-test-secret-that-is-long-enough-0123',
      PORT: port,
      ...env,
    } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => {
    log += d;
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { url: `http://127.0.0.1:${env.PORT ?? port}`, child, exited, log: () => log, stderr: () => stderr };
}

/** Starts a server process and waits until it is healthy. */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const p = await spawnServerProcess(env);
  // a fresh PGlite runs every migration first: slow on a busy 2-core machine
  await eventually(async () => {
    if (p.child.exitCode !== null) throw new Error(`server exited: ${p.log()}`);
    const res = await fetch(`${p.url}/healthz`);
    if (res.status !== 200) throw new Error(`healthz ${res.status}`);
  }, 60_000);
  return p;
}

/** A throwaway database on the Postgres in DATABASE_URL, by URL (processes open it themselves). */
export const throwawayPostgres = () => throwawayDatabase(process.env.DATABASE_URL!, 'cellmark_proc');
