// Test databases: in-memory PGlite by default; with DATABASE_URL, a fresh throwaway
// database on that Postgres (created here, dropped on close), so test files never share rows.
// Also what every workspace's tests need to start processes (`freePort`): db is the one
// package all of them depend on and that depends on none of them.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
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

/**
 * A port nothing listens on now, from the kernel (port 0 on loopback). Counting up from a
 * random one collided in CI: ports above 32768 are also the kernel's ephemeral range, where
 * outgoing connections sit.
 */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
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
