// Test databases: in-memory PGlite by default; with DATABASE_URL, a fresh throwaway
// database on that Postgres (created here, dropped on close), so test files never share rows.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { createDb, type Database } from './index.ts';

/** A fresh, empty database on the Postgres at `base`, by URL (for processes that open it themselves). */
export async function throwawayDatabase(base: string, prefix = 'cellmark_test'): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

export async function createTestDb(): Promise<Database> {
  const url = process.env.DATABASE_URL;
  if (!url) return createDb({ memory: true });
  const throwaway = await throwawayDatabase(url);
  const database = await createDb({ url: throwaway.url, max: 5 });
  return {
    ...database,
    close: async () => {
      await database.close();
      await throwaway.drop();
    },
  };
}
