// Runs end when their kernel does: the crash sweep (a kernel heard from, then silent past
// CELLMARK_RUN_HEARTBEAT_TIMEOUT_MS) over real HTTP, and the sweep itself run by two
// connection pools at once (two server processes) on the same database.
import { createDb, type Database, eq, runs, sql } from '@cellmark/db';
import { throwawayDatabase } from '@cellmark/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crashSilentRuns } from '../src/domain/runs.ts';
import { eventually, startTestServer, type TestServer, userWithProject } from './helpers.ts';

const TIMEOUT_MS = 1500;

let server: TestServer;
let alice: Awaited<ReturnType<typeof userWithProject>>;
/** a second pool on the same database: another server process's view (PGlite: the same one) */
let other: Database;
let dropDatabase = async () => {};

beforeAll(async () => {
  let database: Database;
  if (process.env.DATABASE_URL) {
    const throwaway = await throwawayDatabase(process.env.DATABASE_URL);
    database = await createDb({ url: throwaway.url, max: 5 });
    other = await createDb({ url: throwaway.url, max: 5 });
    dropDatabase = throwaway.drop;
  } else {
    database = await createDb({ memory: true });
    other = database;
  }
  server = await startTestServer({ CELLMARK_RUN_HEARTBEAT_TIMEOUT_MS: String(TIMEOUT_MS) }, database);
  alice = await userWithProject(server, 'alice');
});
afterAll(async () => {
  await server?.dispose(); // closing twice is fine: the last test stopped its HTTP side
  if (other !== server?.database) await other?.close();
  await dropDatabase();
});

let keys = 0;
async function newRun() {
  const { runId } = await alice.ingest.ingest.startRun.mutate({
    project: alice.projectPath,
    clientKey: `lifecycle-${++keys}-${Date.now()}`,
    notebookPath: 'train.ipynb',
    startedAt: new Date().toISOString(),
  });
  return runId;
}
const hello = (runId: string) => alice.ingest.ingest.kernelHello.mutate({ runId, language: 'python' });
const beat = (runId: string) => alice.ingest.ingest.heartbeat.mutate({ runId });
const runOf = async (runId: string) => (await alice.api.runs.get.query({ runId })).run;

describe('the crash sweep', () => {
  it('crashes a run whose kernel went silent, ended at its last heartbeat; a beating kernel keeps its run', async () => {
    const silent = await newRun();
    const alive = await newRun();
    await hello(silent);
    await hello(alive);
    await beat(silent);
    const lastSign = (await runOf(silent)).kernelSeenAt!;
    const beating = setInterval(() => void beat(alive), 200);
    try {
      await eventually(async () => expect((await runOf(silent)).status).toBe('crashed'), 10_000);
      const crashed = await runOf(silent);
      expect(crashed.endedAt).toBe(lastSign);
      expect((await runOf(alive)).status).toBe('running');
    } finally {
      clearInterval(beating);
    }
  });

  it('leaves runs whose kernel side was never heard from to the idle sweep', async () => {
    const frontendOnly = await newRun();
    await alice.ingest.ingest.cells.mutate({
      runId: frontendOnly,
      origin: 'frontend',
      cells: [{ executionKey: 'f1', source: 'x = 1', status: 'ok', startedAt: new Date().toISOString(), endedAt: new Date().toISOString() }],
    });
    const crashedMeanwhile = await newRun();
    await hello(crashedMeanwhile);
    // once a run heard from later than this one was crashed, this one has been looked at too
    await eventually(async () => expect((await runOf(crashedMeanwhile)).status).toBe('crashed'), 10_000);
    await new Promise((r) => setTimeout(r, TIMEOUT_MS / 2));
    expect(await runOf(frontendOnly)).toMatchObject({ status: 'running', endedAt: null, kernelSeenAt: null });
  });

  it('takes a run back when its kernel beats again (it was only unreachable); a finished run stays finished', async () => {
    const revived = await newRun();
    await hello(revived);
    await eventually(async () => expect((await runOf(revived)).status).toBe('crashed'), 10_000);
    expect(await beat(revived)).toMatchObject({ status: 'running' });
    expect(await runOf(revived)).toMatchObject({ status: 'running', endedAt: null });

    const finished = await newRun();
    await hello(finished);
    await alice.ingest.ingest.endRun.mutate({ runId: finished, status: 'finished', endedAt: new Date().toISOString() });
    expect(await beat(finished)).toMatchObject({ status: 'finished' });
    expect((await runOf(finished)).status).toBe('finished');
  });

  it('crashes each silent run once when two processes sweep at the same time, and again changes nothing', async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, () => newRun()));
    await server.stopHttp(); // and with it the server's own sweeps: these three are the only ones
    const db = server.database.db;
    // heard from an hour ago, each at its own time (set directly: the sweep must copy it exactly)
    await db.execute(
      sql`update runs set kernel_seen_at = now() - interval '1 hour' - (random() * interval '1 minute') where id in ${sql.raw(`(${ids.map((id) => `'${id}'`).join(',')})`)}`,
    );
    const seen = new Map((await db.select({ id: runs.id, seen: runs.kernelSeenAt }).from(runs)).map((r) => [r.id, r.seen]));
    // silent for half an hour: only these runs (the earlier tests' runs are younger)
    const limit = 30 * 60 * 1000;
    const taken = await Promise.all([crashSilentRuns(db, limit), crashSilentRuns(other.db, limit), crashSilentRuns(other.db, limit)]);
    expect(taken.reduce((a, b) => a + b, 0)).toBe(ids.length);
    expect(await crashSilentRuns(db, limit)).toBe(0);
    for (const id of ids) {
      const [row] = await db.select({ status: runs.status, endedAt: runs.endedAt }).from(runs).where(eq(runs.id, id));
      expect(row).toEqual({ status: 'crashed', endedAt: seen.get(id) });
    }
  });
});
