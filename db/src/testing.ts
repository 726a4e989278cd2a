// Test databases: in-memory PGlite by default; with DATABASE_URL, a fresh throwaway
// database on that Postgres (created here, dropped on close), so test files never share rows.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { createDb, type Database } from './index.ts';

export async function createTestDb(): Promise<Database> {
  const url = process.env.DATABASE_URL;
  if (!url) return createDb({ memory: true });
  const name = `cellmark_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const testUrl = new URL(url);
  testUrl.pathname = `/${name}`;
  const database = await createDb({ url: testUrl.toString(), max: 5 });
  return {
    ...database,
    close: async () => {
      await database.close();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}
