// One report being edited in this process: its Yjs document, awareness, the sockets on it,
// and the write path (check on a scratch copy, persist, then apply and relay; compaction and
// quiet-time versions follow the writes).
import * as encoding from 'lib0/encoding';
import type { WebSocket } from 'ws';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { DomainError } from '../domain/errors.ts';
import { copyDoc, type ReportStore } from '../domain/reports/store.ts';
import { isStorageUnavailable } from '../http/unavailable.ts';
import type { Logger } from '../logger.ts';
import { type ClientIdOwners, MAX_CLIENT_IDS, type PresenceUser, type rateLimiter } from './presence.ts';
import { type AwarenessChange, awarenessMessage, awarenessProtocol, isEmptyUpdate, send, syncMessage } from './protocol.ts';

/** Who is on the other end of a socket, decided at the upgrade. */
export interface CollabAccess {
  /** null for a share-link viewer */
  userId: string | null;
  reportId: string;
  canWrite: boolean;
  /** shown as this socket's presence: the session's user, or an anonymous viewer */
  user: PresenceUser;
}

export interface Connection {
  /** re-checked every interval: roles, sessions and share links change while a report is open */
  access: CollabAccess;
  /** awareness client ids this socket claimed (first to send them), removed when it leaves */
  clientIds: Set<number>;
  /** awareness messages this socket may still send now */
  awarenessBudget: ReturnType<typeof rateLimiter>;
}

export interface RoomOptions {
  store: ReportStore;
  logger: Logger;
  /** compact once this many update rows (or bytes) are pending */
  compactUpdates: number;
  compactBytes: number;
  /** no edit for this long → onQuiet */
  quietMs: number;
  /** records an automatic version (the room calls it once editing goes quiet) */
  onQuiet: (reportId: string) => Promise<unknown>;
  /** tells other processes that updates with these seqs were stored */
  publish: (reportId: string, seqs: number[]) => void;
  /** loading waits for this (the process listening for other processes' updates) */
  before?: Promise<unknown>;
}

/** Presence is relayed at most this often (carets lag by at most this much; 20 a second). */
const AWARENESS_RELAY_MS = 50;

/** y-protocols' writeSyncStep2, with the update already in hand. */
function writeSyncStep2Update(encoder: encoding.Encoder, update: Uint8Array) {
  encoding.writeVarUint(encoder, syncProtocol.messageYjsSyncStep2);
  encoding.writeVarUint8Array(encoder, update);
}

const sameBytes = (a: Uint8Array | null, b: Uint8Array | null) => a === b || (!!a && !!b && Buffer.compare(a, b) === 0);

/**
 * Whether applying `update` left any of it waiting in `doc` (for structs or deletes the
 * document lacks). Only its own structs count: an update that lets earlier pending ones
 * integrate (a client back from another process, carrying what this one lacked) is fine.
 */
function leftPending(doc: Y.Doc, update: Uint8Array, pendingDsBefore: Uint8Array | null): boolean {
  const pending = doc.store.pendingStructs;
  if (pending) {
    const mine = Y.parseUpdateMeta(update);
    const waiting = Y.parseUpdateMetaV2(pending.update);
    for (const [client, from] of waiting.from) {
      const [start, end] = [mine.from.get(client), mine.to.get(client)];
      if (start !== undefined && end !== undefined && start < waiting.to.get(client)! && from < end) return true;
    }
  }
  const ds = doc.store.pendingDs;
  return !!ds && !sameBytes(ds, pendingDsBefore) && Y.decodeUpdate(update).ds.clients.size > 0;
}

/**
 * An update that builds on changes this room does not have. After a server restart a client
 * holds edits the crashed process never stored; what it types next can reach the new room
 * before its sync step 2 (which carries those edits). Not an error: the update is not kept,
 * and the client is asked again for all the room lacks (a sync step 1), which includes it.
 */
export class MissingChanges extends Error {
  constructor() {
    super('it builds on changes this report does not have');
  }
}

export class Room {
  /** the live document (replaced once by the stored one when loading) */
  doc = new Y.Doc();
  /**
   * The same document again, where every update is applied first: Yjs can throw halfway
   * through integrating a hostile update (one that decodes fine), leaving whatever it
   * integrated in place. Only what applied here is stored, then applied to `doc`; when one
   * throws, this copy is rebuilt from `doc`. Twice the memory of a room, for a document that
   * is never left half-applied and a log that holds no update that cannot be loaded. Made at
   * the first write, so a room only read (viewers, share links) loads no slower.
   */
  private scratchDoc: Y.Doc | null = null;
  /** presence needs no document of its own: a placeholder one, so `doc` can be replaced */
  readonly awareness = new awarenessProtocol.Awareness(new Y.Doc());
  /** set when the live document threw after its scratch copy did not: nobody may join it */
  broken = false;
  private destroyed = false;
  /** what `doc` emitted during the current apply, relayed once it completed */
  private outgoing: Uint8Array[] = [];
  readonly conns = new Map<WebSocket, Connection>();
  /** awareness client id → the connection that claimed it; only it may set that id's state */
  private readonly owners = new Map<number, Connection>();
  /** Serialises appends so the stored log has the order in which updates were applied. */
  private writes: Promise<void> = Promise.resolve();
  private pending = { updates: 0, bytes: 0 };
  private compaction: Promise<void> | null = null;
  private quietTimer: NodeJS.Timeout | null = null;
  /** edits stored by this process since the last automatic version was asked for */
  private unversioned = false;
  /** client updates waiting for the next write */
  private batch: { update: Uint8Array; userId: string | null; resolve: (outcome: 'stored' | 'missing') => void; reject: (error: unknown) => void }[] = [];
  private versioning: Promise<void> = Promise.resolve();
  /** awareness client ids changed since the last awareness broadcast */
  private awarenessChanged = new Set<number>();
  private awarenessFlush: NodeJS.Timeout | null = null;
  /** sync step 2 for an empty state vector (the whole document), while it is current */
  private fullState: Uint8Array | null = null;
  readonly ready: Promise<void>;

  constructor(
    readonly reportId: string,
    private readonly options: RoomOptions,
  ) {
    this.awareness.setLocalState(null);
    this.awareness.on('update', ({ added, updated, removed }: AwarenessChange) => {
      // Relayed at most every AWARENESS_RELAY_MS, one message with whatever changed: presence
      // renewals and cursor moves come in bursts (clients that connected together renew
      // together every 15 s), and relaying each at once is clients² sends in the middle of
      // everyone's typing. Document updates are never held back.
      for (const id of added) this.awarenessChanged.add(id);
      for (const id of updated) this.awarenessChanged.add(id);
      for (const id of removed) this.awarenessChanged.add(id);
      this.awarenessFlush ??= setTimeout(() => {
        this.awarenessFlush = null;
        const changed = [...this.awarenessChanged];
        this.awarenessChanged.clear();
        this.broadcast(awarenessMessage(awarenessProtocol.encodeAwarenessUpdate(this.awareness, changed)));
      }, AWARENESS_RELAY_MS);
    });
    this.ready = (async () => {
      await options.before;
      const { doc, pending, state } = await options.store.loadDoc(reportId, 'store');
      this.doc.destroy();
      this.doc = doc;
      this.pending = pending;
      // What a client with an empty document is sent, until the document changes: the stored
      // snapshot as it is, when it is the whole document.
      if (state) this.fullState = syncMessage((e) => writeSyncStep2Update(e, state));
      // Listening only now: with an 'update' listener Yjs encodes every transaction's update,
      // and the stored state's is the whole document (~10 ms for 24k structs), sent to nobody.
      this.doc.on('update', (update: Uint8Array) => {
        this.fullState = null;
        this.outgoing.push(update);
      });
      // A long-lived report opened after many edits elsewhere: compact it now.
      this.maybeCompact();
    })();
  }

  /**
   * Persist first, then apply (which relays to every connection here and elsewhere).
   * Group commit: updates that arrive while a write is in flight are stored together in the
   * next transaction, so a busy room pays one commit per round trip, not per keystroke.
   */
  applyFromClient(update: Uint8Array, userId: string | null): Promise<'stored' | 'missing'> {
    return new Promise<'stored' | 'missing'>((resolve, reject) => {
      this.batch.push({ update, userId, resolve, reject });
      if (this.batch.length === 1) void this.exclusive(() => this.flushBatch()).catch(() => {});
    });
  }

  private async flushBatch() {
    const items = this.batch;
    this.batch = [];
    // an update that does not apply is refused alone; the rest of the batch is stored
    const errors = this.check(items.map((i) => i.update));
    const good = items.filter((_, i) => !errors[i]);
    items.forEach((item, i) => {
      const error = errors[i];
      if (error instanceof MissingChanges) item.resolve('missing');
      else if (error) item.reject(new DomainError('INVALID_INPUT', `update could not be applied: ${error.message}`.slice(0, 120)));
    });
    if (!good.length) return;
    try {
      await this.write(good);
      good.forEach((item) => item.resolve('stored'));
    } catch (error) {
      good.forEach((item) => item.reject(error));
      throw error;
    }
  }

  /**
   * Applies each update to the scratch copy; the error of each that threw (null: applied).
   * After a throw the copy is rebuilt from the live document plus the updates that applied.
   */
  private check(updates: Uint8Array[], from: 'client' | 'store' = 'client'): (Error | null)[] {
    const passed: Uint8Array[] = [];
    return updates.map((update) => {
      try {
        // Yjs makes no zero-length structs; one makes a copy of the document (encoded and
        // applied) differ from it, so the scratch copy would stop being the document
        // (found by test/collab-fuzz.test.ts at 10k cases)
        if (Y.decodeUpdate(update).structs.some((struct) => struct.length === 0)) throw new Error('it has a struct of length 0');
        const scratch = this.scratch();
        const pendingDs = scratch.store.pendingDs;
        Y.applyUpdate(scratch, update);
        // A client builds on what this room sent it, so it never lacks what an update of
        // its builds on. Held as pending, such an update would be sent (merged into sync step
        // 2) to fresh clients, which may integrate it where this document never does: the
        // two would differ for good (found by test/collab-fuzz.test.ts). Rows another
        // process stored may arrive before rows they build on (notices come in commit
        // order, not seq order): those wait, as Yjs makes them.
        if (from === 'client' && leftPending(scratch, update, pendingDs)) throw new MissingChanges();
        passed.push(update);
        return null;
      } catch (error) {
        this.rebuildScratch(passed);
        return error instanceof Error ? error : new Error(String(error));
      }
    });
  }

  private scratch(): Y.Doc {
    this.scratchDoc ??= copyDoc(this.doc);
    return this.scratchDoc;
  }

  private rebuildScratch(extra: Uint8Array[] = []) {
    this.scratchDoc?.destroy();
    this.scratchDoc = copyDoc(this.doc);
    for (const update of extra) Y.applyUpdate(this.scratchDoc, update);
  }

  /**
   * Applies updates that applied to the scratch copy to the live document, in one transaction,
   * and relays what it emitted. Should the live document throw anyway, nothing it emitted is
   * relayed and the room is marked broken: its clients are sent away (1012, they reconnect)
   * and the next join loads the report afresh from the store.
   */
  private applyLive(updates: Uint8Array[], origin: string) {
    this.outgoing = [];
    try {
      this.doc.transact(() => updates.forEach((u) => Y.applyUpdate(this.doc, u)), origin);
    } catch (error) {
      this.outgoing = [];
      this.broken = true;
      this.options.logger.error({ err: error, reportId: this.reportId }, 'live report document threw on a checked update; reloading the room');
      for (const ws of this.conns.keys()) ws.close(1012, 'report reloading');
      return;
    }
    const out = this.outgoing;
    this.outgoing = [];
    if (out.length) this.broadcast(syncMessage((e) => syncProtocol.writeUpdate(e, out.length === 1 ? out[0]! : Y.mergeUpdates(out))));
  }

  /**
   * A server-side edit (version restore): `change` runs on a copy of the current document,
   * in the write order, and the update it produced is stored and relayed like a client's.
   */
  edit(userId: string, change: (doc: Y.Doc) => void): Promise<{ changed: boolean }> {
    return this.exclusive(async () => {
      const copy = new Y.Doc();
      Y.applyUpdate(copy, Y.encodeStateAsUpdate(this.doc));
      // only what `change` did (encodeStateAsUpdate would carry the whole delete set)
      const made: Uint8Array[] = [];
      copy.on('update', (u: Uint8Array) => made.push(u));
      change(copy);
      copy.destroy();
      const update = made.length === 1 ? made[0]! : Y.mergeUpdates(made);
      if (!made.length || isEmptyUpdate(update)) return { changed: false };
      const [error] = this.check([update]);
      if (error) throw error;
      await this.write([{ update, userId }]);
      return { changed: true };
    });
  }

  /** Stores updates that applied to the scratch copy, then applies and relays them. */
  private async write(items: { update: Uint8Array; userId: string | null }[]) {
    let seqs: number[];
    try {
      ({ seqs } = await this.options.store.appendMany(this.reportId, items));
    } catch (error) {
      // the scratch copy has them and the live document will not
      this.rebuildScratch();
      throw error;
    }
    // one relayed message per batch
    this.applyLive(
      items.map((i) => i.update),
      'client',
    );
    this.options.publish(this.reportId, seqs);
    this.pending.updates += items.length;
    this.pending.bytes += items.reduce((n, i) => n + i.update.byteLength, 0);
    this.maybeCompact();
    this.edited();
  }

  /**
   * The sync step 2 answering a client's state vector. A client with nothing (every fresh
   * page load) gets the whole document: encoded once and kept until the next change, so a
   * report opened by many people at once is not encoded once per person.
   */
  syncStep2(stateVector: Uint8Array): Uint8Array {
    if (Y.decodeStateVector(stateVector).size > 0) return syncMessage((e) => syncProtocol.writeSyncStep2(e, this.doc, stateVector));
    this.fullState ??= syncMessage((e) => writeSyncStep2Update(e, Y.encodeStateAsUpdate(this.doc)));
    return this.fullState;
  }

  /** An update another process stored: apply only (Yjs ignores what the doc already has). */
  applyStored(update: Uint8Array): Promise<void> {
    // in the write order, so the scratch copy is never rebuilt under a write in flight
    return this.exclusive(async () => {
      const [error] = this.check([update], 'store');
      if (error) {
        this.options.logger.error(
          { err: error, reportId: this.reportId },
          'stored update from another process does not apply; left out until the report is reloaded',
        );
        return;
      }
      this.applyLive([update], 'remote');
    });
  }

  /** A database or disk that is down or full is an outage (warn), anything else a bug (error). */
  private logFailure(error: unknown, message: string) {
    const level = isStorageUnavailable(error) ? 'warn' : 'error';
    this.options.logger[level]({ err: error, reportId: this.reportId }, message);
  }

  /** Runs `fn` in the write order, after every earlier write of this room. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.writes.then(fn);
    this.writes = result.then(
      () => undefined,
      (error: unknown) => this.logFailure(error, 'report update not stored'),
    );
    return result;
  }

  flushed(): Promise<void> {
    return this.writes;
  }

  broadcast(message: Uint8Array) {
    for (const ws of this.conns.keys()) send(ws, message);
  }

  private maybeCompact() {
    if (this.compaction !== null) return;
    if (this.pending.updates < this.options.compactUpdates && this.pending.bytes < this.options.compactBytes) return;
    const counted = { ...this.pending };
    this.compaction = this.options.store
      .compact(this.reportId)
      .then(
        () => {
          // what was appended while compacting stays counted
          this.pending.updates = Math.max(0, this.pending.updates - counted.updates);
          this.pending.bytes = Math.max(0, this.pending.bytes - counted.bytes);
        },
        (error: unknown) => this.options.logger.error({ err: error, reportId: this.reportId }, 'report compaction failed'),
      )
      .finally(() => (this.compaction = null));
  }

  /** Who may set which awareness client ids, for `conn` (see presence.ts acceptAwareness). */
  ownersFor(conn: Connection): ClientIdOwners {
    return {
      ownerOf: (id) => {
        const owner = this.owners.get(id);
        return !owner ? 'free' : owner === conn ? 'mine' : 'other';
      },
      claim: (id) => {
        if (conn.clientIds.size >= MAX_CLIENT_IDS) return false;
        conn.clientIds.add(id);
        this.owners.set(id, conn);
        return true;
      },
    };
  }

  /** A connection left: its presence goes, and its client ids may be claimed again. */
  leave(ws: WebSocket, conn: Connection) {
    this.conns.delete(ws);
    for (const id of conn.clientIds) if (this.owners.get(id) === conn) this.owners.delete(id);
    awarenessProtocol.removeAwarenessStates(this.awareness, [...conn.clientIds], null);
  }

  /** Waits for a running compaction (tests, shutdown). */
  async settled() {
    await this.writes;
    await this.compaction;
  }

  private edited() {
    this.unversioned = true;
    if (this.quietTimer) clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => void this.recordVersion(), this.options.quietMs);
    this.quietTimer.unref();
  }

  /** Records the automatic version now if this process stored edits since the last one. */
  recordVersion(): Promise<void> {
    if (this.quietTimer) clearTimeout(this.quietTimer);
    this.quietTimer = null;
    if (this.unversioned) {
      this.unversioned = false;
      this.versioning = this.versioning
        .then(() => this.writes)
        .then(() => this.options.onQuiet(this.reportId))
        .then(
          () => undefined,
          (error: unknown) => this.logFailure(error, 'automatic version failed'),
        );
    }
    return this.versioning;
  }

  destroy() {
    // a room is released by each last leaver (and each server-side edit): once is enough
    if (this.destroyed) return;
    this.destroyed = true;
    if (this.quietTimer) clearTimeout(this.quietTimer);
    if (this.awarenessFlush) clearTimeout(this.awarenessFlush);
    this.awareness.destroy();
    this.doc.destroy();
    this.scratchDoc?.destroy();
  }
}
