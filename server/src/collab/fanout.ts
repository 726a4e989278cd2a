// Several server processes: each stored update is announced with Postgres NOTIFY (the seq
// only: payloads are capped at 8000 bytes), and every process with that report open reads
// the row and applies it. PGlite is single-process, so there it is a no-op. The Postgres
// store sends the notice from its append statement (createPostgresReportStore's `announce`);
// `publish` is for a store that does not.
import type { Database } from '@cellmark/db';
import type { Sql } from 'postgres';
import type { Logger } from '../logger.ts';

/** Payload: `<origin process> <reportId> <seq,seq,…>` or `… <reportId> *` (too many to list). */
export const REPORT_UPDATES_CHANNEL = 'cellmark_report_updates';
const CHANNEL = REPORT_UPDATES_CHANNEL;

export interface Fanout {
  /** Announces committed updates (fire and forget: a lost notice is healed at the next listen). */
  publish(reportId: string, seqs: number[]): void;
  close(): Promise<void>;
}

export interface FanoutHandlers {
  /** another process stored these updates of `reportId` (null: too many to list, reload) */
  stored(reportId: string, seqs: number[] | null): void;
  /** the listen connection was re-established: notices may have been missed, reload rooms */
  resync(): void;
}

/** `origin` names this process: its own notices come back to it and are ignored. */
export async function createFanout(database: Database, handlers: FanoutHandlers, logger: Logger, origin: string): Promise<Fanout> {
  if (database.kind !== 'postgres') return { publish() {}, close: async () => {} };
  const sql = (database.db as unknown as { $client: Sql }).$client;
  let listening = false;
  const { unlisten } = await sql.listen(
    CHANNEL,
    (payload) => {
      const [from, reportId, seqs] = payload.split(' ');
      if (from === origin || !reportId || !seqs) return;
      handlers.stored(reportId, seqs === '*' ? null : seqs.split(',').map(Number));
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
    publish(reportId, seqs) {
      if (closed) return;
      const list = seqs.join(',');
      // NOTIFY payloads stop at 8000 bytes
      sql
        .notify(CHANNEL, `${origin} ${reportId} ${list.length > 7000 ? '*' : list}`)
        .catch((error: unknown) => logger.warn({ err: error, reportId }, 'report update notice not sent'));
    },
    async close() {
      closed = true;
      await unlisten().catch(() => {});
    },
  };
}
