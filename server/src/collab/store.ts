// Where report documents live: per report, a snapshot (the merge of everything compacted so
// far) plus the append-only log of updates since. The interface is small so other backends
// slot in behind it; every implementation runs store.contract.ts.
import { and, asc, type Db, eq, lt, reports, reportSnapshots, reportUpdates, sql } from '@cellmark/db';
import * as Y from 'yjs';

export interface StoredUpdate {
  seq: number;
  update: Uint8Array;
  userId: string | null;
}

export interface CompactResult {
  /** update rows merged into the snapshot (and deleted) by this call */
  merged: number;
  /** highest seq the snapshot now covers */
  uptoSeq: number;
}

export interface ReportStore {
  /** The document as one merged update, or null when nothing was ever stored. */
  load(reportId: string): Promise<Uint8Array | null>;
  /** Durably appends one update; resolves with its seq only once it is committed. */
  append(reportId: string, update: Uint8Array, userId: string | null): Promise<{ seq: number }>;
  /** One stored update by seq, or null when it was compacted away (or never existed). */
  update(reportId: string, seq: number): Promise<StoredUpdate | null>;
  /**
   * Merges the update rows stored now into the snapshot and deletes exactly those rows, in
   * one transaction. Rows appended meanwhile are left alone, so nothing is ever lost.
   */
  compact(reportId: string): Promise<CompactResult>;
  /** Update rows not yet compacted, and their bytes: what a load still has to merge. */
  pending(reportId: string): Promise<{ updates: number; bytes: number }>;
}

/** Serialises compactions (and version snapshots) of one report across processes. */
export const reportLockSql = (reportId: string) => sql`select pg_advisory_xact_lock(hashtext(${`report:${reportId}`}))`;

export function createPostgresReportStore(db: Db): ReportStore {
  return {
    async load(reportId) {
      // One statement, so the snapshot and the rows come from one consistent view even
      // while a compaction commits in between.
      const [snapshot, rows] = await db.transaction(
        async (tx) =>
          Promise.all([
            tx.select({ state: reportSnapshots.state }).from(reportSnapshots).where(eq(reportSnapshots.reportId, reportId)),
            tx.select({ update: reportUpdates.update }).from(reportUpdates).where(eq(reportUpdates.reportId, reportId)).orderBy(asc(reportUpdates.seq)),
          ]),
        { isolationLevel: 'repeatable read', accessMode: 'read only' },
      );
      const parts = [...snapshot.map((s) => new Uint8Array(s.state)), ...rows.map((r) => new Uint8Array(r.update))];
      if (!parts.length) return null;
      return parts.length === 1 ? parts[0]! : mergeThroughDoc(parts);
    },

    async append(reportId, update, userId) {
      return db.transaction(async (tx) => {
        const [row] = await tx.insert(reportUpdates).values({ reportId, update, userId }).returning({ seq: reportUpdates.seq });
        // "updated" in report lists follows edits; at most one row write per 10 s of typing
        await tx
          .update(reports)
          .set({ updatedAt: sql`now()` })
          .where(and(eq(reports.id, reportId), lt(reports.updatedAt, sql`now() - interval '10 seconds'`)));
        return { seq: row!.seq };
      });
    },

    async update(reportId, seq) {
      const [row] = await db
        .select({ seq: reportUpdates.seq, update: reportUpdates.update, userId: reportUpdates.userId })
        .from(reportUpdates)
        .where(and(eq(reportUpdates.reportId, reportId), eq(reportUpdates.seq, seq)));
      return row ? { ...row, update: new Uint8Array(row.update) } : null;
    },

    async compact(reportId) {
      return db.transaction(async (tx) => {
        await tx.execute(reportLockSql(reportId));
        const [snapshot] = await tx.select().from(reportSnapshots).where(eq(reportSnapshots.reportId, reportId));
        const rows = await tx
          .select({ seq: reportUpdates.seq, update: reportUpdates.update, userId: reportUpdates.userId })
          .from(reportUpdates)
          .where(eq(reportUpdates.reportId, reportId))
          .orderBy(asc(reportUpdates.seq));
        if (!rows.length) return { merged: 0, uptoSeq: snapshot?.uptoSeq ?? 0 };
        const state = mergeThroughDoc([...(snapshot ? [new Uint8Array(snapshot.state)] : []), ...rows.map((r) => new Uint8Array(r.update))]);
        const authors: Record<string, number> = { ...(snapshot?.authors ?? {}) };
        let uptoSeq = snapshot?.uptoSeq ?? 0;
        for (const r of rows) {
          if (r.userId) authors[r.userId] = Math.max(authors[r.userId] ?? 0, r.seq);
          uptoSeq = Math.max(uptoSeq, r.seq);
        }
        const values = { state, uptoSeq, authors, mergedUpdates: (snapshot?.mergedUpdates ?? 0) + rows.length };
        if (snapshot) await tx.update(reportSnapshots).set(values).where(eq(reportSnapshots.reportId, reportId));
        else await tx.insert(reportSnapshots).values({ reportId, ...values });
        // Exactly the rows merged above: one appended meanwhile (even with a lower seq from a
        // transaction that committed late) stays in the log.
        const seqs = `{${rows.map((r) => r.seq).join(',')}}`;
        await tx.delete(reportUpdates).where(and(eq(reportUpdates.reportId, reportId), sql`${reportUpdates.seq} = any(${seqs}::bigint[])`));
        return { merged: rows.length, uptoSeq };
      });
    },

    async pending(reportId) {
      const [row] = await db
        .select({ updates: sql<number>`count(*)::int`, bytes: sql<number>`coalesce(sum(octet_length(${reportUpdates.update})), 0)::int` })
        .from(reportUpdates)
        .where(eq(reportUpdates.reportId, reportId));
      return row!;
    },
  };
}

/**
 * Many updates as one. Applying them to a document in one transaction is linear, where
 * Y.mergeUpdates of thousands of small updates is not (5k keystrokes: ~0.9 s), and the
 * encoded document drops the content of deleted text (garbage collection), so snapshots
 * stay close to the size of what is visible.
 */
export function mergeThroughDoc(parts: Uint8Array[]): Uint8Array {
  const doc = new Y.Doc();
  doc.transact(() => {
    for (const part of parts) Y.applyUpdate(doc, part);
  });
  const state = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  return state;
}
