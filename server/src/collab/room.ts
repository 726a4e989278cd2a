// One report being edited in this process: its Yjs document, awareness, the sockets on it,
// and the write path (persist, then apply and relay; compaction and quiet-time versions
// follow the writes).
import * as encoding from 'lib0/encoding';
import type { WebSocket } from 'ws';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import type { Logger } from '../logger.ts';
import { type AwarenessChange, awarenessMessage, awarenessProtocol, isEmptyUpdate, send, syncMessage } from './protocol.ts';
import type { ReportStore } from './store.ts';

/** Who is on the other end of a socket, decided at the upgrade. */
export interface CollabAccess {
  /** null for a share-link viewer */
  userId: string | null;
  reportId: string;
  canWrite: boolean;
}

export interface Connection {
  /** re-checked every interval: roles, sessions and share links change while a report is open */
  access: CollabAccess;
  /** awareness client ids this socket controls, removed when it leaves */
  clientIds: Set<number>;
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

export class Room {
  readonly doc = new Y.Doc();
  readonly awareness = new awarenessProtocol.Awareness(this.doc);
  readonly conns = new Map<WebSocket, Connection>();
  /** Serialises appends so the stored log has the order in which updates were applied. */
  private writes: Promise<void> = Promise.resolve();
  private pending = { updates: 0, bytes: 0 };
  private compaction: Promise<void> | null = null;
  private quietTimer: NodeJS.Timeout | null = null;
  /** edits stored by this process since the last automatic version was asked for */
  private unversioned = false;
  /** client updates waiting for the next write */
  private batch: { update: Uint8Array; userId: string | null; resolve: () => void; reject: (error: unknown) => void }[] = [];
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
    this.awareness.on('update', ({ added, updated, removed }: AwarenessChange, origin: unknown) => {
      const conn = origin && typeof origin === 'object' ? this.conns.get(origin as WebSocket) : undefined;
      if (conn) {
        added.forEach((id) => conn.clientIds.add(id));
        removed.forEach((id) => conn.clientIds.delete(id));
      }
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
      const { pending, state } = await options.store.loadInto(reportId, this.doc, 'store');
      this.pending = pending;
      // What a client with an empty document is sent, until the document changes: the stored
      // snapshot as it is, when it is the whole document.
      if (state) this.fullState = syncMessage((e) => writeSyncStep2Update(e, state));
      // Listening only now: with an 'update' listener Yjs encodes every transaction's update,
      // and the stored state's is the whole document (~10 ms for 24k structs), sent to nobody.
      this.doc.on('update', (update: Uint8Array) => {
        this.fullState = null;
        this.broadcast(syncMessage((e) => syncProtocol.writeUpdate(e, update)));
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
  applyFromClient(update: Uint8Array, userId: string | null): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.batch.push({ update, userId, resolve, reject });
      if (this.batch.length === 1) void this.exclusive(() => this.flushBatch()).catch(() => {});
    });
  }

  private async flushBatch() {
    const items = this.batch;
    this.batch = [];
    try {
      await this.write(items);
      items.forEach((item) => item.resolve());
    } catch (error) {
      items.forEach((item) => item.reject(error));
      throw error;
    }
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
      await this.write([{ update, userId }]);
      return { changed: true };
    });
  }

  private async write(items: { update: Uint8Array; userId: string | null }[]) {
    const { seqs } = await this.options.store.appendMany(this.reportId, items);
    // one relayed message per batch
    Y.applyUpdate(this.doc, items.length === 1 ? items[0]!.update : Y.mergeUpdates(items.map((i) => i.update)), 'client');
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
  applyStored(update: Uint8Array) {
    Y.applyUpdate(this.doc, update, 'remote');
  }

  /** Runs `fn` in the write order, after every earlier write of this room. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.writes.then(fn);
    this.writes = result.then(
      () => undefined,
      (error: unknown) => this.options.logger.error({ err: error, reportId: this.reportId }, 'report update not stored'),
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
    if (this.compaction) return;
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
          (error: unknown) => this.options.logger.error({ err: error, reportId: this.reportId }, 'automatic version failed'),
        );
    }
    return this.versioning;
  }

  destroy() {
    if (this.quietTimer) clearTimeout(this.quietTimer);
    if (this.awarenessFlush) clearTimeout(this.awarenessFlush);
    this.doc.destroy();
  }
}
