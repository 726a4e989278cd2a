// Where report documents live: an append-only log of Yjs updates per report.
// Small interface so compaction (and other backends) slot in behind it.
import { and, asc, type Db, eq, lt, reports, reportUpdates, sql } from '@cellmark/db';
import * as Y from 'yjs';

export interface ReportStore {
  /** The document as one merged update, or null when nothing was ever stored. */
  load(reportId: string): Promise<Uint8Array | null>;
  /** Durably appends one update; resolves only once it is committed. */
  append(reportId: string, update: Uint8Array, userId: string | null): Promise<void>;
}

export function createPostgresReportStore(db: Db): ReportStore {
  return {
    async load(reportId) {
      const rows = await db
        .select({ update: reportUpdates.update })
        .from(reportUpdates)
        .where(eq(reportUpdates.reportId, reportId))
        .orderBy(asc(reportUpdates.seq));
      if (!rows.length) return null;
      return Y.mergeUpdates(rows.map((r) => new Uint8Array(r.update)));
    },
    async append(reportId, update, userId) {
      await db.transaction(async (tx) => {
        await tx.insert(reportUpdates).values({ reportId, update, userId });
        // "updated" in report lists follows edits; at most one row write per 10 s of typing
        await tx
          .update(reports)
          .set({ updatedAt: sql`now()` })
          .where(and(eq(reports.id, reportId), lt(reports.updatedAt, sql`now() - interval '10 seconds'`)));
      });
    },
  };
}
