// The Cellmark server process. Configuration comes from the environment (see env.ts).
import { DatabaseUnavailableError } from '@cellmark/db';
import { EnvError, loadEnv } from './env.ts';
import { boot } from './index.ts';
import { createLogger } from './logger.ts';

async function main() {
  const env = loadEnv();
  const logger = createLogger(env.LOG_LEVEL);
  const cellmark = await boot(env, logger);
  logger.info(
    { url: cellmark.url, database: cellmark.database.kind, web: env.CELLMARK_NO_WEB ? 'off' : env.CELLMARK_DEV ? 'dev' : 'built' },
    'Cellmark is listening',
  );
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    cellmark.stop().then(
      () => process.exit(0),
      (error) => {
        logger.error({ err: error }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  // Expected start-up failures get one clear line, not a stack trace.
  if (error instanceof DatabaseUnavailableError || error instanceof EnvError) {
    process.stderr.write(`cellmark: ${error.message}\n`);
  } else if ((error as NodeJS.ErrnoException)?.code === 'EADDRINUSE') {
    const e = error as NodeJS.ErrnoException & { port?: number };
    process.stderr.write(`cellmark: port ${e.port ?? ''} is already in use; stop the other process or set PORT\n`);
  } else {
    process.stderr.write(`cellmark: failed to start: ${(error as Error)?.stack ?? String(error)}\n`);
  }
  process.exit(1);
});
