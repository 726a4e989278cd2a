// Runs whose kernel stopped beating are crashed, and runs nobody heard from for a day are
// finished, by the server (any process may do it: both sweeps are one idempotent UPDATE).
// The crash sweep runs at a quarter of its timeout (at most every 15 s), so a dead kernel is
// marked within the timeout and a quarter of it after its last heartbeat.
import type { Db } from '@cellmark/db';
import { crashSilentRuns, finishIdleRuns } from './domain/runs.ts';
import type { Env } from './env.ts';
import type { Logger } from './logger.ts';

/** Starts both sweeps (timers that do not keep the process alive); returns what stops them. */
export function startRunSweeps(db: Db, env: Pick<Env, 'CELLMARK_RUN_IDLE_TIMEOUT_MS' | 'CELLMARK_RUN_HEARTBEAT_TIMEOUT_MS'>, logger: Logger): () => void {
  const sweep = (what: string, run: () => Promise<number>) => () =>
    void run().then(
      (n) => n && logger.info({ runs: n }, `${what} runs`),
      (error: unknown) => logger.warn({ err: error }, `${what} run sweep failed`),
    );
  const idleSweep = setInterval(
    sweep('finished idle', () => finishIdleRuns(db, env.CELLMARK_RUN_IDLE_TIMEOUT_MS)),
    Math.min(60_000, env.CELLMARK_RUN_IDLE_TIMEOUT_MS),
  );
  const crashSweep = setInterval(
    sweep('crashed silent', () => crashSilentRuns(db, env.CELLMARK_RUN_HEARTBEAT_TIMEOUT_MS)),
    Math.min(15_000, env.CELLMARK_RUN_HEARTBEAT_TIMEOUT_MS / 4),
  );
  idleSweep.unref();
  crashSweep.unref();
  return () => {
    clearInterval(idleSweep);
    clearInterval(crashSweep);
  };
}
