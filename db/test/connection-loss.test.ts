// Postgres dying under load (kill -9, a failover) must fail the queries in flight with errors
// their callers can catch, and the pool must serve queries again once Postgres is back — never
// take the process down. postgres.js 3.4.9 schedules small writes on setImmediate; a write
// made after a reserved connection's socket closed dereferenced the null socket from that
// timer, an uncaught TypeError that killed every server process when the soak bench killed
// Postgres (porsager/postgres#1208). patches/postgres+3.4.9.patch fixes the driver.
//
// Needs a Postgres of its own to kill: runs with the Postgres suites (DATABASE_URL set) where
// the server binaries are installed, as in CI.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Database, sql } from '../src/index.ts';
import { freePort } from '../src/testing.ts';

const pgRoot = '/usr/lib/postgresql';
const pgBin = existsSync(pgRoot)
  ? readdirSync(pgRoot)
      .map((v) => path.join(pgRoot, v, 'bin'))
      .filter((d) => existsSync(path.join(d, 'initdb')))
      .sort()
      .at(-1)
  : undefined;
const asRoot = process.getuid?.() === 0;

/** initdb and pg_ctl refuse root: run them as the postgres user then. */
function pg(tool: string, ...args: string[]) {
  const cmd = path.join(pgBin!, tool);
  if (asRoot) execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'ignore' });
  else execFileSync(cmd, args, { stdio: 'ignore' });
}

const until = async (what: string, check: () => boolean, ms = 20_000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

describe.skipIf(!process.env.DATABASE_URL || !pgBin)('Postgres killed under load', () => {
  let dir: string;
  let port: number;
  const start = () =>
    pg(
      'pg_ctl',
      '-D',
      path.join(dir, 'data'),
      '-l',
      path.join(dir, 'log'),
      '-w',
      '-o',
      `-k ${dir} -p ${port} -c listen_addresses=127.0.0.1 -c fsync=off`,
      'start',
    );

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cellmark-pg-kill-'));
    chmodSync(dir, 0o777);
    port = await freePort();
    pg('initdb', '-D', path.join(dir, 'data'), '-A', 'trust', '-U', 'cellmark');
    start();
  }, 60_000);

  afterAll(() => {
    try {
      pg('pg_ctl', '-D', path.join(dir, 'data'), '-m', 'immediate', 'stop');
    } catch {
      // already down
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails the transactions in flight catchably, and the pool recovers when Postgres is back', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    let database: Database | undefined;
    let stop = false;
    try {
      database = await createDb({ url: `postgres://cellmark@127.0.0.1:${port}/postgres`, max: 10 });
      const db = database.db;
      await db.execute(sql`create table load (x int)`);
      let committed = 0;
      const failures = new Map<string, number>();
      // transactions of several small statements, as ingest makes: writes are buffered per tick
      const worker = async () => {
        while (!stop) {
          try {
            await db.transaction(async (tx) => {
              await tx.execute(sql`insert into load values (1)`);
              await tx.execute(sql`select pg_sleep(0.001)`);
              await tx.execute(sql`select count(*) from load`);
            });
            committed++;
          } catch (error) {
            const e = error as { code?: string; cause?: { code?: string } };
            const code = e.code ?? e.cause?.code ?? 'other';
            failures.set(code, (failures.get(code) ?? 0) + 1);
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        }
      };
      const workers = Array.from({ length: 20 }, worker);
      await until('load', () => committed > 200);

      const pid = Number(readFileSync(path.join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
      process.kill(pid, 'SIGKILL');
      await until('errors while Postgres is down', () => failures.size > 0);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      // its backends exit once they notice, and until then the port and shared memory are
      // taken: try the restart until it works
      rmSync(path.join(dir, 'data', 'postmaster.pid'), { force: true });
      await until('Postgres to restart', () => {
        try {
          start();
          return true;
        } catch {
          return false;
        }
      });
      const before = committed;
      await until('commits after the restart', () => committed > before + 100);
      stop = true;
      await Promise.all(workers);

      expect(uncaught).toEqual([]);
      // every failure was one a caller can act on: the connection went away, or Postgres said so
      for (const code of failures.keys())
        expect(code).toMatch(/^(CONNECTION_CLOSED|CONNECTION_DESTROYED|CONNECT_TIMEOUT|ECONNRESET|ECONNREFUSED|EPIPE|57P01|57P03|08\w{3})$/);
    } finally {
      stop = true;
      process.off('uncaughtException', onUncaught);
      await database?.close().catch(() => {});
    }
  }, 90_000);
});
