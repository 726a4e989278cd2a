// Several server processes: each stored update is announced with Postgres NOTIFY (the seq
// only: payloads are capped at 8000 bytes), and every process with that report open reads
// the row and applies it. PGlite is single-process, so there it is a no-op.
import { randomUUID } from 'node:crypto';
import type { Database } from '@cellmark/db';
import type { Sql } from 'postgres';
import type { Logger } from '../logger.ts';

const CHANNEL = 'cellmark_report_updates';

export interface Fanout {
  /** Announces a committed update (fire and forget: a lost notice is healed at the next listen). */
  publish(reportId: string, seq: number): void;
  close(): Promise<void>;
}

export interface FanoutHandlers {
  /** another process stored update `seq` of `reportId` */
  stored(reportId: string, seq: number): void;
  /** the listen connection was re-established: notices may have been missed, reload rooms */
  resync(): void;
}

export async function createFanout(database: Database, handlers: FanoutHandlers, logger: Logger): Promise<Fanout> {
  if (database.kind !== 'postgres') return { publish() {}, close: async () => {} };
  const sql = (database.db as unknown as { $client: Sql }).$client;
  const origin = randomUUID();
  let listening = false;
  const { unlisten } = await sql.listen(
    CHANNEL,
    (payload) => {
      const [from, reportId, seq] = payload.split(' ');
      if (from === origin || !reportId || !seq) return;
      handlers.stored(reportId, Number(seq));
    },
    () => {
      // postgres.js listens again by itself after a dropped connection; what was
      // announced in between is lost, so rooms re-read the store.
      if (listening) handlers.resync();
      listening = true;
    },
  );
  let closed = false;
  return {
    publish(reportId, seq) {
      if (closed) return;
      sql.notify(CHANNEL, `${origin} ${reportId} ${seq}`).catch((error: unknown) => logger.warn({ err: error, reportId }, 'report update notice not sent'));
    },
    async close() {
      closed = true;
      await unlisten().catch(() => {});
    },
  };
}
