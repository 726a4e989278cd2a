// createDb(): drizzle over postgres.js when a DATABASE_URL is given, else over embedded
// PGlite with a data directory. Both run the same committed migrations at start-up.
import { existsSync, mkdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { copyInBinary, parseBinaryCopy } from './binary-copy.ts';
import * as schema from './schema/index.ts';

export type { SQL } from 'drizzle-orm';
export { and, asc, count, desc, eq, gt, ilike, inArray, isNotNull, isNull, lt, ne, or, sql } from 'drizzle-orm';
export { BinaryCopyEncoder, copyInBinary, parseBinaryCopy, uuidBytes } from './binary-copy.ts';
export * from './schema/index.ts';
export { schema };

export type Schema = typeof schema;
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
/** A transaction or the database itself: domain functions accept either. */
export type DbOrTx = Parameters<Parameters<Db['transaction']>[0]>[0] | Db;

export const migrationsFolder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../migrations');

export type DbOptions =
  | { url: string; max?: number }
  /** minFreeBytes: see guardFreeSpace (default MIN_FREE_BYTES) */
  | { dataDir: string; minFreeBytes?: number }
  /** in-memory PGlite, for tests */
  | { memory: true };

export interface Database {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** Cheap liveness check used by /healthz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The database could not be reached or opened; the message is one line, fit for a human. */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
}

/** Serialises migrations across processes sharing one Postgres. */
const MIGRATION_LOCK = 7_301_733;

export async function createDb(options: DbOptions): Promise<Database> {
  if ('url' in options) return openPostgres(options.url, options.max ?? 10);
  return 'dataDir' in options ? openPglite(options.dataDir, options.minFreeBytes ?? MIN_FREE_BYTES) : openPglite(undefined, 0);
}

async function openPostgres(url: string, max: number): Promise<Database> {
  let where: string;
  try {
    const u = new URL(url);
    where = `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname}`;
  } catch {
    throw new DatabaseUnavailableError('DATABASE_URL is not a valid URL (expected postgres://user:password@host:port/database)');
  }
  const options = { max: 1, connect_timeout: 10, onnotice: () => {} } as const;
  const migrator = postgres(url, options);
  try {
    await migrator`select 1`;
  } catch (error) {
    await migrator.end({ timeout: 0 }).catch(() => {});
    throw new DatabaseUnavailableError(`cannot connect to Postgres at ${where}: ${describe(error)}`);
  }
  try {
    await migrator`select pg_advisory_lock(${MIGRATION_LOCK})`;
    await migratePostgres(drizzlePostgres(migrator), { migrationsFolder });
    await migrator`select pg_advisory_unlock(${MIGRATION_LOCK})`;
  } finally {
    await migrator.end({ timeout: 5 });
  }
  // JIT compiles a big-looking query for longer than it runs (1–2 s on a chart query): off
  const client = postgres(url, { ...options, max, connection: { jit: 'off' } });
  const db = drizzlePostgres(client, { schema }) as unknown as Db;
  return {
    db,
    kind: 'postgres',
    ping: async () => {
      await client`select 1`;
    },
    close: () => client.end({ timeout: 5 }),
  };
}

/**
 * What the disk under PGlite's data directory must keep free before Cellmark sends it another
 * statement: three 16 MiB WAL segments. PGlite cannot survive running out of disk inside its
 * WAL or a checkpoint: the next statement spins in the wasm module for ever, holding the event
 * loop (every request, /healthz and each websocket of the server stop; only a kill ends it).
 * Postgres answers the same condition with a PANIC and a restart of its own; PGlite has neither.
 */
export const MIN_FREE_BYTES = 48 * 2 ** 20;

/** A statement refused because the disk is (nearly) full; `code` makes it a 503 upstream. */
export class StorageFullError extends Error {
  override name = 'StorageFullError';
  readonly code = 'ENOSPC';
}

/**
 * Wraps the statements drizzle sends (query, exec, transaction) so each first checks the free
 * space (one statfs, microseconds): under `minFreeBytes` it is refused before PGlite sees it.
 */
function guardFreeSpace(client: PGlite, dataDir: string, minFreeBytes: number) {
  const check = () => {
    let free: number;
    try {
      const fs = statfsSync(dataDir);
      free = fs.bavail * fs.bsize;
    } catch {
      return; // cannot tell: let PGlite try
    }
    if (free < minFreeBytes) {
      throw new StorageFullError(
        `the disk holding the embedded database (${dataDir}) has ${(free / 2 ** 20).toFixed(1)} MiB free, under the ${(minFreeBytes / 2 ** 20).toFixed(0)} MiB it must keep: no space left on device, nothing is written until space is freed`,
      );
    }
  };
  for (const method of ['query', 'exec', 'transaction'] as const) {
    const original = client[method].bind(client) as (...args: unknown[]) => Promise<unknown>;
    (client as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
      check();
      return original(...args);
    };
  }
}

async function openPglite(dataDir: string | undefined, minFreeBytes: number): Promise<Database> {
  let releaseLock = () => {};
  if (dataDir) {
    mkdirSync(dataDir, { recursive: true });
    releaseLock = lockDataDir(dataDir);
  }
  let client: PGlite;
  try {
    client = await PGlite.create(dataDir ?? 'memory://');
  } catch (error) {
    releaseLock();
    throw new DatabaseUnavailableError(`cannot open the embedded database in ${dataDir}: ${describe(error)}`);
  }
  if (dataDir && minFreeBytes > 0) guardFreeSpace(client, dataDir, minFreeBytes);
  try {
    await migratePglite(drizzlePglite(client), { migrationsFolder });
  } catch (error) {
    if (!(error instanceof StorageFullError || (error as { cause?: unknown }).cause instanceof StorageFullError)) throw error;
    await client.close().catch(() => {});
    releaseLock();
    throw new DatabaseUnavailableError(
      `cannot open the embedded database: ${describe(error instanceof StorageFullError ? error : (error as { cause: Error }).cause)}`,
    );
  }
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  return {
    db,
    kind: 'pglite',
    ping: async () => {
      await client.query('select 1');
    },
    close: async () => {
      await client.close();
      releaseLock();
    },
  };
}

/**
 * PGlite is single-process: a second process opening the same directory corrupts it.
 * A pid file turns that into a clear error instead.
 */
function lockDataDir(dataDir: string): () => void {
  const lock = path.join(dataDir, 'cellmark.pid');
  if (existsSync(lock)) {
    const pid = Number(readFileSync(lock, 'utf8').trim());
    if (pid && pid !== process.pid && isAlive(pid)) {
      throw new DatabaseUnavailableError(
        `the embedded database in ${dataDir} is in use by another Cellmark process (pid ${pid}); stop it or set CELLMARK_DATA_DIR`,
      );
    }
  }
  writeFileSync(lock, String(process.pid));
  return () => rmSync(lock, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length) return describe(error.errors[0]);
  const e = error as { code?: string; message?: string };
  if (e.message && e.code && e.message.includes(e.code)) return e.message;
  return [e.code, e.message].filter(Boolean).join(' ') || String(error);
}

/** Rows of a raw `db.execute(sql…)`: postgres.js returns an array, PGlite `{ rows }`. */
export function resultRows<T>(result: unknown): T[] {
  return Array.isArray(result) ? (result as T[]) : ((result as { rows?: T[] }).rows ?? []);
}

/**
 * The postgres.js client under a drizzle database or transaction (a transaction's is its own
 * connection), or null on PGlite.
 */
function postgresClientOf(db: DbOrTx): postgres.Sql | null {
  const d = db as unknown as { $client?: unknown; session?: { client?: unknown } };
  const client = d.session?.client ?? d.$client;
  return typeof client === 'function' && typeof (client as { unsafe?: unknown }).unsafe === 'function' ? (client as postgres.Sql) : null;
}

/** Whether `copyIntoTable` can run on this database (postgres.js, not PGlite). */
export const canCopyIn = (db: DbOrTx) => postgresClientOf(db) !== null;

/**
 * `COPY table (columns) FROM STDIN (FORMAT binary)` of `body` (a `BinaryCopyEncoder`'s) inside
 * transaction `tx`, on postgres.js; false on PGlite, where the caller inserts instead.
 */
export async function copyIntoTable(tx: DbOrTx, table: string, columns: string[], body: Buffer): Promise<boolean> {
  const client = postgresClientOf(tx);
  if (!client) return false;
  await copyInBinary(client as unknown as Parameters<typeof copyInBinary>[0], table, columns, body);
  return true;
}

/**
 * `COPY (<select>) TO STDOUT (FORMAT binary)` on postgres.js: the rows as raw field bytes
 * (null for NULL; text columns are UTF-8, bytea columns arrive as is, with none of the 2×
 * hex text a bytea costs as a query result). null on PGlite: the caller queries instead.
 * COPY takes no parameters: `select` may inline only literals the caller has validated.
 */
export async function copyOutBinary(db: DbOrTx, select: string): Promise<(Buffer | null)[][] | null> {
  const client = postgresClientOf(db);
  if (!client) return null;
  const stream = await client.unsafe(`copy (${select}) to stdout with (format binary)`).readable();
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  // postgres.js 3.4 pauses the socket when the stream's buffer fills before we listen, and
  // resumes it only from the stream's read(); when the whole COPY (end included) came in one
  // socket read, nothing reads again and the pooled connection hangs on its next query. The
  // stream's read() is what resumes the socket: call it once more (a no-op when not paused).
  (stream as unknown as { _read: () => void })._read();
  return parseBinaryCopy(Buffer.concat(chunks));
}
