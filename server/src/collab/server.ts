// /collab/<reportId>: the y-websocket protocol (y-protocols sync + awareness) with our own
// room handling, because we need what the stock server lacks: authentication at the
// upgrade, read-only connections whose updates never touch the document, and every
// update written to Postgres before it is applied and relayed.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Database } from '@cellmark/db';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { WebSocket, WebSocketServer } from 'ws';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { type Auth, sessionUser } from '../auth.ts';
import { closeCodeOf, DomainError } from '../domain/errors.ts';
import { requireReport } from '../domain/policy.ts';
import type { Metrics } from '../http/metrics.ts';
import type { Logger } from '../logger.ts';
import { createPostgresReportStore, type ReportStore } from './store.ts';

const MESSAGE_SYNC = 0;
const MESSAGE_AWARENESS = 1;
const PING_INTERVAL_MS = 30_000;
const PATH = /^\/collab\/([0-9a-f-]{36})$/i;

/** Who is on the other end of a socket, decided once at the upgrade. */
export interface CollabAccess {
  userId: string | null;
  reportId: string;
  canWrite: boolean;
}

interface Connection {
  /** re-checked every interval: roles and sessions change while a report is open */
  access: CollabAccess;
  /** awareness client ids this socket controls, removed when it leaves */
  clientIds: Set<number>;
}

class Room {
  readonly doc = new Y.Doc();
  readonly awareness = new awarenessProtocol.Awareness(this.doc);
  readonly conns = new Map<WebSocket, Connection>();
  /** Serialises appends so the stored log has the order in which updates were applied. */
  private writes: Promise<void> = Promise.resolve();
  readonly ready: Promise<void>;

  constructor(
    readonly reportId: string,
    private readonly store: ReportStore,
    private readonly logger: Logger,
  ) {
    this.awareness.setLocalState(null);
    this.doc.on('update', (update: Uint8Array) => this.broadcast(syncMessage((e) => syncProtocol.writeUpdate(e, update))));
    this.awareness.on('update', ({ added, updated, removed }: AwarenessChange, origin: unknown) => {
      const conn = origin instanceof WebSocket ? this.conns.get(origin) : undefined;
      if (conn) {
        added.forEach((id) => conn.clientIds.add(id));
        removed.forEach((id) => conn.clientIds.delete(id));
      }
      const changed = [...added, ...updated, ...removed];
      this.broadcast(awarenessMessage(awarenessProtocol.encodeAwarenessUpdate(this.awareness, changed)));
    });
    this.ready = store.load(reportId).then((state) => {
      if (state) Y.applyUpdate(this.doc, state, 'store');
    });
  }

  /** Persist first, then apply (which relays to every connection). */
  applyFromClient(update: Uint8Array, conn: Connection): Promise<void> {
    const write = this.writes.then(async () => {
      await this.store.append(this.reportId, update, conn.access.userId);
      Y.applyUpdate(this.doc, update, conn);
    });
    this.writes = write.catch((error: unknown) => this.logger.error({ err: error, reportId: this.reportId }, 'report update not stored'));
    return write;
  }

  flushed(): Promise<void> {
    return this.writes;
  }

  broadcast(message: Uint8Array) {
    for (const ws of this.conns.keys()) send(ws, message);
  }
}

type AwarenessChange = { added: number[]; updated: number[]; removed: number[] };

function syncMessage(write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MESSAGE_SYNC);
  write(encoder);
  return encoding.toUint8Array(encoder);
}

function awarenessMessage(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MESSAGE_AWARENESS);
  encoding.writeVarUint8Array(encoder, update);
  return encoding.toUint8Array(encoder);
}

function send(ws: WebSocket, message: Uint8Array) {
  if (ws.readyState === WebSocket.OPEN) ws.send(message, (error) => error && ws.terminate());
}

export interface Collab {
  /** Rooms currently in memory, for tests and metrics. */
  rooms: Map<string, Room>;
  close(): Promise<void>;
}

export function attachCollab(
  server: Server,
  deps: {
    database: Database;
    auth: Auth;
    logger: Logger;
    metrics: Metrics;
    store?: ReportStore | undefined;
    /** how often a live connection's session and role are checked again (and pinged) */
    reauthorizeMs?: number | undefined;
  },
): Collab {
  const { database, auth, logger, metrics } = deps;
  const store = deps.store ?? createPostgresReportStore(database.db);
  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });
  const rooms = new Map<string, Room>();
  const reauthorizeMs = deps.reauthorizeMs ?? PING_INTERVAL_MS;

  async function authorize(req: IncomingMessage, reportId: string): Promise<CollabAccess> {
    const user = await sessionUser(auth, req.headers);
    if (!user) throw new DomainError('UNAUTHORIZED', 'sign in to open this report');
    const { canWrite } = await requireReport(database.db, { userId: user.id, via: 'session' }, reportId, 'read');
    return { userId: user.id, reportId, canWrite };
  }

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const pathname = (req.url ?? '').split('?')[0] ?? '';
    // Leave every other upgrade (Next's HMR) to its own listener.
    if (!pathname.startsWith('/collab/')) return;
    const match = PATH.exec(pathname);
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (!match) return ws.close(closeCodeOf.NOT_FOUND, 'no such report');
      // Clients speak first (sync step 1) without waiting for us: keep what arrives
      // while we authorize, or it is lost.
      const early: Uint8Array[] = [];
      const buffer = (data: Buffer) => early.push(new Uint8Array(data));
      ws.on('message', buffer);
      authorize(req, match[1]!.toLowerCase()).then(
        (access) => {
          ws.off('message', buffer);
          join(ws, access, early, () => authorize(req, access.reportId));
        },
        (error: unknown) => {
          if (error instanceof DomainError) ws.close(closeCodeOf[error.code], error.message.slice(0, 120));
          else {
            logger.error({ err: error }, 'collab authorization failed');
            ws.close(1011, 'internal error');
          }
        },
      );
    });
  };
  server.on('upgrade', onUpgrade);

  function roomFor(reportId: string): Room {
    let room = rooms.get(reportId);
    if (!room) {
      room = new Room(reportId, store, logger);
      rooms.set(reportId, room);
    }
    return room;
  }

  function join(ws: WebSocket, access: CollabAccess, early: Uint8Array[], reauthorize: () => Promise<CollabAccess>) {
    metrics.collabConnections.inc({ access: access.canWrite ? 'write' : 'read' });
    const room = roomFor(access.reportId);
    const conn: Connection = { access, clientIds: new Set() };
    // Messages that arrive while the stored state loads are handled in order afterwards.
    let queue = room.ready.then(() => {
      room.conns.set(ws, conn);
      send(ws, syncMessage((e) => syncProtocol.writeSyncStep1(e, room.doc)));
      const states = room.awareness.getStates();
      if (states.size) send(ws, awarenessMessage(awarenessProtocol.encodeAwarenessUpdate(room.awareness, [...states.keys()])));
    });
    queue.catch((error: unknown) => {
      logger.error({ err: error, reportId: access.reportId }, 'report could not be loaded');
      ws.close(1011, 'report could not be loaded');
    });
    const receive = (message: Uint8Array) => {
      queue = queue.then(() => handle(ws, room, conn, message)).catch((error: unknown) => {
        if (error instanceof DomainError) ws.close(closeCodeOf[error.code], error.message.slice(0, 120));
        else {
          logger.warn({ err: error, reportId: access.reportId }, 'bad collab message');
          ws.close(1003, 'malformed message');
        }
      });
    };
    early.forEach(receive);
    ws.on('message', (data: Buffer) => receive(new Uint8Array(data)));
    let alive = true;
    ws.on('pong', () => (alive = true));
    const ping = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
      // A signed-out session or a removed member loses the live connection too, and a
      // changed role takes effect, within one interval.
      reauthorize().then(
        (now) => (conn.access = now),
        (error: unknown) => {
          if (error instanceof DomainError) ws.close(closeCodeOf[error.code], error.message.slice(0, 120));
        },
      );
    }, reauthorizeMs);
    ws.on('close', () => {
      clearInterval(ping);
      room.conns.delete(ws);
      awarenessProtocol.removeAwarenessStates(room.awareness, [...conn.clientIds], null);
      if (room.conns.size === 0) {
        // Drop the in-memory doc once its writes are stored; the next visitor reloads it.
        void room.flushed().then(() => {
          if (room.conns.size === 0 && rooms.get(room.reportId) === room) {
            rooms.delete(room.reportId);
            room.doc.destroy();
          }
        });
      }
    });
  }

  async function handle(ws: WebSocket, room: Room, conn: Connection, message: Uint8Array) {
    const decoder = decoding.createDecoder(message);
    const type = decoding.readVarUint(decoder);
    if (type === MESSAGE_AWARENESS) {
      awarenessProtocol.applyAwarenessUpdate(room.awareness, decoding.readVarUint8Array(decoder), ws);
      return;
    }
    if (type !== MESSAGE_SYNC) return;
    const syncType = decoding.readVarUint(decoder);
    if (syncType === syncProtocol.messageYjsSyncStep1) {
      const stateVector = decoding.readVarUint8Array(decoder);
      send(ws, syncMessage((e) => syncProtocol.writeSyncStep2(e, room.doc, stateVector)));
      return;
    }
    if (syncType !== syncProtocol.messageYjsSyncStep2 && syncType !== syncProtocol.messageYjsUpdate) {
      throw new Error(`unknown sync message ${syncType}`);
    }
    const update = decoding.readVarUint8Array(decoder);
    // An empty step 2 is the normal reply of a client that has nothing new.
    if (isEmptyUpdate(update)) return;
    if (!conn.access.canWrite) {
      throw new DomainError('FORBIDDEN', 'this connection is read-only');
    }
    await room.applyFromClient(update, conn);
  }

  return {
    rooms,
    async close() {
      server.off('upgrade', onUpgrade);
      for (const ws of wss.clients) ws.close(1001, 'server shutting down');
      await Promise.all([...rooms.values()].map((room) => room.flushed()));
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      setTimeout(() => wss.clients.forEach((ws) => ws.terminate()), 1000).unref();
    },
  };
}

/** An update that adds and deletes nothing (what a client with an empty doc sends). */
function isEmptyUpdate(update: Uint8Array): boolean {
  const { structs, ds } = Y.decodeUpdate(update);
  return structs.length === 0 && ds.clients.size === 0;
}
