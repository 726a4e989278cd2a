// @cellmark/server: boot the whole process from an environment (used by main.ts and tests).

import path from 'node:path';
import { createDb, type Database } from '@cellmark/db';
import { createAuth, resolveSecret } from './auth.ts';
import { createFsBlobStore } from './blobs/store.ts';
import { type Env, loadEnv } from './env.ts';
import { type CellmarkServer, startServer } from './http/app.ts';
import { createLogger, type Logger } from './logger.ts';

export { type Env, loadEnv } from './env.ts';
export type { AppRouter } from './trpc/router.ts';

export interface Cellmark extends CellmarkServer {
  env: Env;
  database: Database;
  auth: ReturnType<typeof createAuth>;
  logger: Logger;
  /** Stop accepting, finish in-flight requests, close sockets and the database. */
  stop(): Promise<void>;
}

export async function boot(env: Env = loadEnv(), logger: Logger = createLogger(env.LOG_LEVEL)): Promise<Cellmark> {
  const database = await createDb(
    env.DATABASE_URL ? { url: env.DATABASE_URL } : { dataDir: path.join(env.dataDir, 'pgdata'), minFreeBytes: env.CELLMARK_PGLITE_MIN_FREE_MIB * 2 ** 20 },
  );
  try {
    const auth = createAuth(database.db, env, resolveSecret(env));
    const server = await startServer({ env, logger, database, auth, blobs: createFsBlobStore(env.blobDir) });
    const stop = async () => {
      await server.close();
      await database.close();
    };
    return { ...server, env, database, auth, logger, stop };
  } catch (error) {
    await database.close();
    throw error;
  }
}
