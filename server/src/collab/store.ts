// Where report documents live: per report, a snapshot (the merge of everything compacted so
// far) plus the append-only log of updates since. The interface is small so other backends
// slot in behind it; every implementation runs store.contract.ts.
import { and, asc, type Db, eq, reports, reportSnapshots, reportUpdates, resultRows, sql } from '@cellmark/db';
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
  /**
   * Appends several updates in one transaction (group commit: what arrived while the
   * previous write was in flight); seqs ascend in the order given.
   */
  appendMany(reportId: string, entries: { update: Uint8Array; userId: string | null }[]): Promise<{ seqs: number[] }>;
  /** Stored updates by seq, in seq order; those compacted away (or never stored) are missing. */
  updates(reportId: string, seqs: number[]): Promise<StoredUpdate[]>;
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
  const store: ReportStore = {
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
      const { seqs } = await store.appendMany(reportId, [{ update, userId }]);
      return { seq: seqs[0]! };
    },

    async appendMany(reportId, entries) {
      if (!entries.length) return { seqs: [] };
      // One statement (so one round trip and its own transaction): the rows, and "updated"
      // in report lists following edits, at most one row write per 10 s of typing.
      const values = sql.join(
        entries.map((e) => sql`(${reportId}::uuid, ${e.update}::bytea, ${e.userId})`),
        sql`, `,
      );
      const result = await db.execute(sql`
        with inserted as (
          insert into ${reportUpdates} (report_id, update, user_id) values ${values} returning seq
        ), touched as (
          update ${reports} set updated_at = now() where id = ${reportId} and updated_at < now() - interval '10 seconds'
        )
        select seq from inserted`);
      // one statement's serial values are taken in VALUES order
      return { seqs: resultRows<{ seq: string | number }>(result).map((r) => Number(r.seq)).sort((a, b) => a - b) };
    },

    async updates(reportId, seqs) {
      if (!seqs.length) return [];
      const rows = await db
        .select({ seq: reportUpdates.seq, update: reportUpdates.update, userId: reportUpdates.userId })
        .from(reportUpdates)
        .where(and(eq(reportUpdates.reportId, reportId), sql`${reportUpdates.seq} = any(${`{${seqs.join(',')}}`}::bigint[])`))
        .orderBy(asc(reportUpdates.seq));
      return rows.map((row) => ({ ...row, update: new Uint8Array(row.update) }));
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
  return store;
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
