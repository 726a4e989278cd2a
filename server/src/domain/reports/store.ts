// Where report documents live: per report, a snapshot (the merge of everything compacted so
// far) plus the append-only log of updates since. The interface is small so other backends
// slot in behind it; every implementation runs store.contract.ts.
import { and, asc, copyOutBinary, type Db, type DbOrTx, eq, reportQuarantine, reportSnapshots, reports, reportUpdates, resultRows, sql } from '@cellmark/db';
import * as Y from 'yjs';
import type { Logger } from '../../logger.ts';

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

/** A stored row that Yjs could not apply, moved to report_quarantine by the load that found it. */
export interface QuarantinedRow {
  seq: number;
  reason: string;
}

export interface LoadedReport {
  /** the stored document: the snapshot and every row that applies */
  doc: Y.Doc;
  /** rows that did not apply: moved to report_quarantine, left out of `doc` */
  quarantined: QuarantinedRow[];
  /** false when nothing was ever stored (the document was left empty) */
  found: boolean;
  /** update rows not yet compacted, and their bytes (what `pending` would say) */
  pending: { updates: number; bytes: number };
  /**
   * The document as one update when it is stored as one (a snapshot and no rows left): bytes
   * a client with an empty document can be sent as they are. null otherwise.
   */
  state: Uint8Array | null;
}

export interface ReportStore {
  /** The document as one merged update, or null when nothing was ever stored. */
  load(reportId: string): Promise<Uint8Array | null>;
  /**
   * The stored document as a new Y.Doc (snapshot, then the rows in seq order, in one Yjs
   * transaction with `origin`): what a room opening a report needs, read in one round trip,
   * with no merged update encoded on the way. A row that Yjs cannot apply is quarantined
   * (see buildDoc), so a report always opens.
   */
  loadDoc(reportId: string, origin?: unknown): Promise<LoadedReport>;
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
  /**
   * The highest seq stored, in the log or folded into the snapshot (0: nothing stored): it
   * moves whenever something new is stored, so a reader can cache what it derived from a load.
   */
  storedSeq(reportId: string): Promise<number>;
}

export interface PostgresReportStoreOptions {
  /**
   * Announce every append to other processes from the appending statement itself
   * (`pg_notify(channel, '<origin> <reportId> <seq,…>')`, see fanout.ts): delivered exactly
   * when the rows commit, with no second query per write.
   */
  announce?: { channel: string; origin: string } | undefined;
  /** where quarantined rows are reported (besides report_quarantine) */
  logger?: Logger | undefined;
}

export function createPostgresReportStore(db: Db, options: PostgresReportStoreOptions = {}): ReportStore {
  const { announce, logger } = options;
  /** The stored parts as a document; rows that do not apply go to report_quarantine. */
  async function built(reportId: string, origin?: unknown, read?: Awaited<ReturnType<typeof readStored>>) {
    const { snapshot, updates } = read ?? (await readStored(db, reportId));
    const result = buildDoc(snapshot, updates, origin);
    if (result.bad.length) await quarantine(db, reportId, result.bad, logger);
    return { snapshot, updates, ...result };
  }
  const store: ReportStore = {
    async load(reportId) {
      const stored = await readStored(db, reportId);
      // a lone snapshot is compaction's own output: as stored, nothing to check or encode
      if (stored.snapshot && !stored.updates.length) return stored.snapshot;
      const { snapshot, updates, doc, applied } = await built(reportId, undefined, stored);
      // as stored, when it is one part that applies (no encoding)
      const state = !applied.length
        ? null
        : applied.length === 1 && applied.length === (snapshot ? 1 : 0) + updates.length
          ? applied[0]!
          : Y.encodeStateAsUpdate(doc);
      doc.destroy();
      return state;
    },

    async loadDoc(reportId, origin) {
      const { snapshot, updates, doc, bad } = await built(reportId, origin);
      const good = bad.length ? updates.filter((u) => !bad.some((b) => b.seq === u.seq)) : updates;
      return {
        doc,
        quarantined: bad,
        found: snapshot !== null || updates.length > 0,
        pending: { updates: good.length, bytes: good.reduce((n, u) => n + u.bytes.byteLength, 0) },
        state: snapshot && !good.length ? snapshot : null,
      };
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
      // NOTIFY payloads stop at 8000 bytes: a longer seq list is sent as '*' (reload)
      const announced = announce
        ? sql`, announced as (
            select pg_notify(${announce.channel}, ${`${announce.origin} ${reportId} `} || case when length(list) > 7000 then '*' else list end)
            from (select string_agg(seq::text, ',' order by seq) as list from inserted) seqs
          )`
        : sql``;
      const result = await db.execute(sql`
        with inserted as (
          insert into ${reportUpdates} (report_id, update, user_id) values ${values} returning seq
        ), touched as (
          update ${reports} set updated_at = now() where id = ${reportId} and updated_at < now() - interval '10 seconds'
        )${announced}
        select seq from inserted${announce ? sql` cross join announced` : sql``}`);
      // one statement's serial values are taken in VALUES order
      return {
        seqs: resultRows<{ seq: string | number }>(result)
          .map((r) => Number(r.seq))
          .sort((a, b) => a - b),
      };
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
        const read = await readLocked(tx, reportId);
        const { snapshot } = read;
        if (!read.rows.length) return { merged: 0, uptoSeq: snapshot?.uptoSeq ?? 0 };
        const built = await buildLocked(tx, reportId, read, logger);
        const state = Y.encodeStateAsUpdate(built.doc);
        built.doc.destroy();
        const { rows, uptoSeq } = built;
        const authors: Record<string, number> = { ...(snapshot?.authors ?? {}) };
        for (const r of rows) if (r.userId) authors[r.userId] = Math.max(authors[r.userId] ?? 0, r.seq);
        if (!rows.length) return { merged: 0, uptoSeq };
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

    async storedSeq(reportId) {
      const [row] = await db
        .select({
          logged: sql<string | null>`(select max(${reportUpdates.seq}) from ${reportUpdates} where ${reportUpdates.reportId} = ${reportId})`,
          folded: sql<string | null>`(select ${reportSnapshots.uptoSeq} from ${reportSnapshots} where ${reportSnapshots.reportId} = ${reportId})`,
        })
        .from(sql`(select 1) as one`);
      return Math.max(Number(row?.logged ?? 0), Number(row?.folded ?? 0));
    },
  };
  return store;
}

/** A stored update row with its author, as a locked read returns it. */
interface AuthoredPart extends StoredPart {
  userId: string | null;
}

/** A report's snapshot row and every update row (seq order), read under the report's lock. */
interface LockedRead {
  snapshot: { state: Uint8Array; uptoSeq: number; authors: Record<string, number>; mergedUpdates: number } | null;
  rows: AuthoredPart[];
}

/** What a report stores, as one state held until the transaction it was read in ends. */
interface LockedState {
  /** the snapshot and the rows that apply, in one document (the caller's until `use` returns) */
  doc: Y.Doc;
  /** what the snapshot covers: its highest seq, and per author the highest seq they wrote */
  snapshot: { uptoSeq: number; authors: Record<string, number> } | null;
  /** the update rows that apply, in seq order (those that do not were quarantined) */
  rows: AuthoredPart[];
  /** the highest seq in the document */
  uptoSeq: number;
}

/**
 * Takes the report's lock (held to the end of `tx`: compactions and version snapshots of one
 * report run one at a time across processes) and reads the snapshot and every update row, so
 * both are one state that no compaction can change until `tx` ends.
 */
async function readLocked(tx: DbOrTx, reportId: string): Promise<LockedRead> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`report:${reportId}`}))`);
  const [snapshot] = await tx.select().from(reportSnapshots).where(eq(reportSnapshots.reportId, reportId));
  const rows = await tx
    .select({ seq: reportUpdates.seq, update: reportUpdates.update, userId: reportUpdates.userId })
    .from(reportUpdates)
    .where(eq(reportUpdates.reportId, reportId))
    .orderBy(asc(reportUpdates.seq));
  return {
    snapshot: snapshot
      ? { state: new Uint8Array(snapshot.state), uptoSeq: snapshot.uptoSeq, authors: snapshot.authors, mergedUpdates: snapshot.mergedUpdates }
      : null,
    rows: rows.map((r) => ({ seq: r.seq, bytes: new Uint8Array(r.update), userId: r.userId })),
  };
}

/** The document of a locked read; rows that do not apply are quarantined in `tx`, as a load would. */
async function buildLocked(tx: DbOrTx, reportId: string, read: LockedRead, logger: Logger | undefined): Promise<LockedState> {
  const { snapshot } = read;
  const { doc, bad } = buildDoc(snapshot?.state ?? null, read.rows);
  if (bad.length) await quarantine(tx, reportId, bad, logger);
  const rows = bad.length ? read.rows.filter((r) => !bad.some((b) => b.seq === r.seq)) : read.rows;
  const uptoSeq = rows.reduce((max, r) => Math.max(max, r.seq), snapshot?.uptoSeq ?? 0);
  return { doc, snapshot: snapshot && { uptoSeq: snapshot.uptoSeq, authors: snapshot.authors }, rows, uptoSeq };
}

/**
 * Runs `use` on what the report stores now, in one transaction under the report's lock (the
 * one compaction takes), so the state cannot move under it; `use` writes in the same `tx`.
 * What version snapshots are made from.
 */
export async function withLockedState<T>(
  db: Db,
  reportId: string,
  logger: Logger | undefined,
  use: (state: LockedState, tx: DbOrTx) => Promise<T>,
): Promise<T> {
  return db.transaction(async (tx) => {
    const state = await buildLocked(tx, reportId, await readLocked(tx, reportId), logger);
    try {
      return await use(state, tx);
    } finally {
      state.doc.destroy();
    }
  });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A report's snapshot and remaining rows (in seq order) in one statement, so both come from
 * one consistent view even while a compaction commits, in one round trip (no transaction to
 * open and close). On postgres.js by binary COPY: a bytea as a query result is hex text, twice
 * its size to send and to decode (a 500 KiB snapshot: ~11 ms as a query, ~4 ms by COPY).
 */
async function readStored(db: Db, reportId: string): Promise<{ snapshot: Uint8Array | null; updates: StoredPart[] }> {
  // COPY takes no parameters: the id is inlined, so only a well-formed uuid goes that way
  const copied = UUID.test(reportId)
    ? await copyOutBinary(
        db,
        `select 0 as part, 0::bigint as seq, state as bytes from report_snapshots where report_id = '${reportId}'
         union all select 1, seq, update from report_updates where report_id = '${reportId}'
         order by part, seq`,
      )
    : null;
  const rows = copied
    ? copied.map(([part, seq, bytes]) => ({
        part: part!.readInt32BE(0),
        seq: Number(seq!.readBigInt64BE(0)),
        bytes: new Uint8Array(bytes!.buffer, bytes!.byteOffset, bytes!.byteLength),
      }))
    : resultRows<{ part: number; seq: string | number; bytes: Uint8Array }>(
        await db.execute(sql`
          select 0 as part, 0::bigint as seq, ${reportSnapshots.state} as bytes from ${reportSnapshots} where ${reportSnapshots.reportId} = ${reportId}
          union all select 1, ${reportUpdates.seq}, ${reportUpdates.update} from ${reportUpdates} where ${reportUpdates.reportId} = ${reportId}
          order by part, seq`),
      ).map((r) => ({ part: Number(r.part), seq: Number(r.seq), bytes: new Uint8Array(r.bytes) }));
  const snapshot = rows[0]?.part === 0 ? rows[0].bytes : null;
  return { snapshot, updates: (snapshot ? rows.slice(1) : rows).map(({ seq, bytes }) => ({ seq, bytes })) };
}

/** A stored update row: its seq and bytes. */
interface StoredPart {
  seq: number;
  bytes: Uint8Array;
}

/** Yjs's message, for report_quarantine.reason and the log (Yjs throws bare TypeErrors). */
const reasonOf = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 500);

/**
 * A report's document from its snapshot and rows, in one transaction (linear; Y.mergeUpdates
 * of thousands of keystrokes is not: 5k keystrokes ~0.9 s). A row Yjs cannot apply (it
 * decodes, then throws while integrating — and may have integrated part of itself by then)
 * is left out: the document is rebuilt applying each row to a trial copy first, and only
 * those that apply there to the result. Rows come only from clients, so only they can be bad;
 * the snapshot is written by compaction from a document that loaded, and is trusted.
 */
function buildDoc(snapshot: Uint8Array | null, rows: StoredPart[], origin?: unknown): { doc: Y.Doc; applied: Uint8Array[]; bad: QuarantinedRow[] } {
  const fast = new Y.Doc();
  try {
    fast.transact(() => {
      if (snapshot) Y.applyUpdate(fast, snapshot);
      for (const row of rows) Y.applyUpdate(fast, row.bytes);
    }, origin);
    return { doc: fast, applied: snapshot ? [snapshot, ...rows.map((r) => r.bytes)] : rows.map((r) => r.bytes), bad: [] };
  } catch {
    fast.destroy();
  }
  const doc = new Y.Doc();
  const applied: Uint8Array[] = [];
  const bad: QuarantinedRow[] = [];
  let trial = new Y.Doc();
  doc.transact(() => {
    if (snapshot) {
      Y.applyUpdate(doc, snapshot);
      Y.applyUpdate(trial, snapshot);
      applied.push(snapshot);
    }
    for (const row of rows) {
      try {
        Y.applyUpdate(trial, row.bytes);
      } catch (error) {
        bad.push({ seq: row.seq, reason: reasonOf(error) });
        trial.destroy();
        trial = copyDoc(doc);
        continue;
      }
      Y.applyUpdate(doc, row.bytes);
      applied.push(row.bytes);
    }
  }, origin);
  trial.destroy();
  return { doc, applied, bad };
}

/**
 * A new document in the same state as `doc`, what is pending (structs and deletes waiting for
 * ones they build on) carried over as it is. Encoded with the rest (Y.encodeStateAsUpdate
 * merges it in), pending structs can integrate in the copy where in `doc` they still wait —
 * Yjs retries them only once the clock they first missed arrives — and the copy would accept
 * updates `doc` does not, or the reverse (found by test/collab-fuzz.test.ts).
 */
export function copyDoc(doc: Y.Doc): Y.Doc {
  const { pendingStructs, pendingDs } = doc.store;
  doc.store.pendingStructs = null;
  doc.store.pendingDs = null;
  let state: Uint8Array;
  try {
    state = Y.encodeStateAsUpdate(doc);
  } finally {
    doc.store.pendingStructs = pendingStructs;
    doc.store.pendingDs = pendingDs;
  }
  const copy = new Y.Doc();
  Y.applyUpdate(copy, state);
  copy.store.pendingStructs = pendingStructs && { missing: new Map(pendingStructs.missing), update: pendingStructs.update };
  copy.store.pendingDs = pendingDs;
  return copy;
}

/**
 * Moves rows out of report_updates into report_quarantine with their reason, in one
 * statement (so a row is in exactly one of the two; two loads finding the same row move it
 * once), and logs them.
 */
async function quarantine(db: DbOrTx, reportId: string, rows: QuarantinedRow[], logger?: Logger) {
  logger?.error({ reportId, rows }, 'report update rows could not be applied: moved to report_quarantine');
  await db.execute(sql`
    with bad as (
      select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as bad(seq bigint, reason text)
    ), moved as (
      delete from ${reportUpdates} u using bad where u.report_id = ${reportId} and u.seq = bad.seq
      returning u.seq, u.update, u.user_id, u.created_at, bad.reason
    )
    insert into ${reportQuarantine} (report_id, seq, update, user_id, reason, stored_at)
    select ${reportId}, seq, update, user_id, reason, created_at from moved
    on conflict do nothing`);
}
