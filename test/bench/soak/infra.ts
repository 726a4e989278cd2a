// What the soak runs against and does to it: Cellmark server processes (restartable on the
// same port after a kill -9), a private Postgres cluster (so killing it disturbs nobody
// else's), a size-limited tmpfs to fill, and the memory / database-size sampler. Each server
// runs with its inspector on loopback so the sampler can read its V8 heap after a full GC: RSS
// alone is no leak signal (V8 and malloc keep freed pages; it swung ±50 MiB between samples in
// a 10-minute run while the heap it holds did not grow).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { throwawayDatabase as createThrowaway, freePort } from '@cellmark/db/testing';
import postgres from 'postgres';
import WebSocket from 'ws';

/** A throwaway database on the Postgres at `base`, by URL (the server processes open it themselves). */
export const throwawayDatabase = (base: string) => createThrowaway(base, 'cellmark_soak');

const main = path.resolve(import.meta.dirname, '../../../server/src/main.ts');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ServerProcess {
  child: ChildProcess | null = null;
  log = '';
  /** every error-level log line (pino level 50/60), whole, as it was written (the first 50) */
  readonly errorLines: string[] = [];
  /** the inspector's websocket (`--inspect=127.0.0.1:0` prints it), for heapAfterGcMiB */
  private inspector: string | null = null;
  private partial = '';
  /** exits nobody asked for: the exit code and the end of the log */
  readonly crashes: string[] = [];
  private expectExit = false;
  constructor(
    readonly port: number,
    readonly env: Record<string, string>,
  ) {}

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }
  get pid() {
    return this.child?.pid ?? 0;
  }

  static async create(env: Record<string, string>) {
    return new ServerProcess(await freePort(), env);
  }

  /** Starts and waits until /healthz answers 200 (or the deadline). */
  async start(deadlineMs = 60_000) {
    this.inspector = null;
    const child = spawn(process.execPath, ['--inspect=127.0.0.1:0', '--import', 'tsx', main], {
      env: {
        PATH: process.env.PATH!,
        HOME: process.env.HOME ?? '/tmp',
        CELLMARK_NO_WEB: '1',
        HOST: '127.0.0.1',
        NODE_ENV: 'development',
        LOG_LEVEL: 'warn',
        CELLMARK_SECRET: 'soak-secret-that-is-long-enough-0123456789',
        PORT: String(this.port),
        ...this.env,
      } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.expectExit = false;
    child.once(
      'exit',
      (code, signal) => this.expectExit || this.crashes.push(`exited ${code ?? signal} at ${new Date().toISOString()}: ${this.log.slice(-1500)}`),
    );
    // the last 64 KiB of its log, for the report
    const keep = (d: Buffer) => {
      const text = d.toString();
      this.log = (this.log + text).slice(-65536);
      const lines = (this.partial + text).split('\n');
      this.partial = lines.pop()!.slice(-65536);
      for (const line of lines) {
        if (/"level":(50|60)/.test(line) && this.errorLines.length < 50) this.errorLines.push(line);
        this.inspector ??= line.match(/Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/)?.[1] ?? null;
      }
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const until = Date.now() + deadlineMs;
    while (Date.now() < until) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`server exited (${child.exitCode ?? child.signalCode}): ${this.log.slice(-2000)}`);
      try {
        if ((await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(2000) })).ok) return;
      } catch {}
      await sleep(200);
    }
    throw new Error(`server on ${this.url} not healthy after ${deadlineMs} ms: ${this.log.slice(-2000)}`);
  }

  kill9() {
    const child = this.child;
    if (!child || child.exitCode !== null) return Promise.resolve();
    this.expectExit = true;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    return exited;
  }

  /** SIGTERM (the graceful path), SIGKILL after 20 s. */
  async stop() {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.expectExit = true;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }

  /** V8 heap in use after a full GC (inspector: HeapProfiler.collectGarbage, Runtime.getHeapUsage), or null. */
  async heapAfterGcMiB(timeoutMs = 5000): Promise<number | null> {
    const url = this.inspector;
    if (!url) return null;
    const socket = new WebSocket(url);
    try {
      return await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => resolve(null), timeoutMs);
        socket.once('error', () => resolve(null));
        socket.once('open', () => {
          socket.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
          socket.send(JSON.stringify({ id: 2, method: 'Runtime.getHeapUsage' }));
        });
        socket.on('message', (data) => {
          const message = JSON.parse(String(data)) as { id?: number; result?: { usedSize?: number } };
          if (message.id !== 2) return;
          clearTimeout(timer);
          resolve(typeof message.result?.usedSize === 'number' ? message.result.usedSize / 2 ** 20 : null);
        });
      });
    } finally {
      socket.terminate();
    }
  }

  rssMiB() {
    try {
      const line = readFileSync(`/proc/${this.pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
      return line ? Number(line[1]) / 1024 : null;
    } catch {
      return null;
    }
  }
}

/** A Postgres cluster of our own (initdb as the postgres user, socket in its directory, loopback). */
export class OwnPostgres {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'cellmark-soak-pg-'));
  private readonly bin = path.dirname(execFileSync('sh', ['-c', 'ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1']).toString().trim());
  constructor(readonly port: number) {}

  static async create() {
    const pg = new OwnPostgres(await freePort());
    chownSync(pg.dir, uid('postgres'), uid('postgres'));
    execFileSync('runuser', ['-u', 'postgres', '--', `${pg.bin}/initdb`, '-D', `${pg.dir}/data`, '-A', 'trust', '-U', 'cellmark'], { stdio: 'ignore' });
    await pg.start();
    return pg;
  }

  get url() {
    return `postgres://cellmark@127.0.0.1:${this.port}/postgres`;
  }

  /** pg_ctl start, again until it works: after a kill -9 the orphaned backends need a moment to notice and exit. */
  async start() {
    for (let attempt = 0; ; attempt++) {
      try {
        execFileSync(
          'runuser',
          [
            '-u',
            'postgres',
            '--',
            `${this.bin}/pg_ctl`,
            '-D',
            `${this.dir}/data`,
            '-l',
            `${this.dir}/log`,
            '-w',
            '-o',
            `-k ${this.dir} -p ${this.port} -c listen_addresses=127.0.0.1 -c fsync=off`,
            'start',
          ],
          { stdio: 'ignore' },
        );
        return;
      } catch {
        if (attempt > 20) throw new Error(`postgres did not start: ${readFileSync(`${this.dir}/log`, 'utf8').slice(-2000)}`);
        await sleep(500);
      }
    }
  }

  kill9() {
    const pid = Number(readFileSync(`${this.dir}/data/postmaster.pid`, 'utf8').split('\n')[0]);
    process.kill(pid, 'SIGKILL');
  }

  stop() {
    try {
      execFileSync('runuser', ['-u', 'postgres', '--', `${this.bin}/pg_ctl`, '-D', `${this.dir}/data`, '-m', 'immediate', 'stop'], { stdio: 'ignore' });
    } catch {}
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function uid(user: string) {
  return Number(execFileSync('id', ['-u', user]).toString().trim());
}

/** A tmpfs of `mib` MiB at a fresh directory (we are root); `fill` takes all its free space, `free` gives it back. */
export class SmallDisk {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'cellmark-soak-disk-'));
  private readonly filler = path.join(this.dir, 'filler');
  constructor(mib: number) {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m`, 'tmpfs', this.dir]);
    mkdirSync(path.join(this.dir, 'data'));
  }
  get dataDir() {
    return path.join(this.dir, 'data');
  }
  /**
   * Fills the disk as a disk fills (another process writing, 50 MiB/s), to the last byte: the
   * server sees it coming, and with the embedded database keeps its margin (db MIN_FREE_BYTES).
   */
  async fill() {
    const fd = openSync(this.filler, 'w');
    const chunk = Buffer.alloc(1024 * 1024);
    try {
      for (;;) {
        writeSync(fd, chunk);
        await sleep(20);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      // the last partial MiB
      for (let size = 512 * 1024; size >= 512; size /= 2) {
        try {
          for (;;) writeSync(fd, chunk.subarray(0, size));
        } catch {}
      }
    } finally {
      closeSync(fd);
    }
  }
  free() {
    unlinkSync(this.filler);
  }
  dispose() {
    try {
      execFileSync('umount', ['-l', this.dir]);
    } catch {}
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function directoryBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    try {
      total += statSync(path.join(entry.parentPath, entry.name)).size;
    } catch {}
  }
  return total;
}

export interface Sample {
  /** s since the soak started */
  t: number;
  rssMiB: (number | null)[];
  /** V8 heap in use after a full GC, per server */
  heapMiB: (number | null)[];
  dbMiB: number | null;
}

/** Every `everyMs`: each server's RSS and the database's size (pg_database_size or the PGlite directory). */
export function startSampler(servers: ServerProcess[], database: { url: string } | { dir: string }, t0: number, everyMs = 10_000) {
  const samples: Sample[] = [];
  const sql = 'url' in database ? postgres(database.url, { max: 1, onnotice: () => {}, connect_timeout: 3, idle_timeout: 5 }) : null;
  const sample = async () => {
    let dbMiB: number | null = null;
    try {
      if (sql) dbMiB = Number((await sql`select pg_database_size(current_database()) as n`)[0]!.n) / 2 ** 20;
      else dbMiB = directoryBytes((database as { dir: string }).dir) / 2 ** 20;
    } catch {}
    const t = (performance.now() - t0) / 1000;
    const rssMiB = servers.map((s) => s.rssMiB());
    const heapMiB = await Promise.all(servers.map((s) => s.heapAfterGcMiB()));
    samples.push({ t, rssMiB, heapMiB, dbMiB });
  };
  void sample();
  const timer = setInterval(() => void sample(), everyMs);
  return {
    samples,
    stop: async () => {
      clearInterval(timer);
      await sample();
      await sql?.end({ timeout: 1 });
    },
  };
}

/** Least-squares slope of y over x. */
export function slope(points: [number, number][]) {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  const num = points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0);
  const den = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  return den ? num / den : 0;
}
