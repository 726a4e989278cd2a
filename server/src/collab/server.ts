// /collab/<reportId>: the y-websocket protocol (y-protocols sync + awareness) with our own
// room handling, because we need what the stock server lacks: authentication at the
// upgrade (session cookie, or `?share=<token>` for a view-only link), read-only connections
// whose updates never touch the document, every update checked on a scratch copy and written
// to Postgres before it is applied and relayed, presence only for a socket's own client ids
// and with the session's identity, and fan-out to other server processes. Every other upgrade
// is answered 404 and closed, unless `leaveUpgrade` names it (Next's HMR in dev).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Database } from '@cellmark/db';
import * as decoding from 'lib0/decoding';
import { type WebSocket, WebSocketServer } from 'ws';
import * as syncProtocol from 'y-protocols/sync';
import { type Auth, sessionUser } from '../auth.ts';
import { closeCodeOf, DomainError } from '../domain/errors.ts';
import { requireReport } from '../domain/policy.ts';
import { shareAccess } from '../domain/reports/shares.ts';
import { createPostgresReportStore, type ReportStore } from '../domain/reports/store.ts';
import { type ReportDocs, recordVersion } from '../domain/reports/versions.ts';
import type { Metrics } from '../http/metrics.ts';
import { isStorageUnavailable } from '../http/unavailable.ts';
import type { Logger } from '../logger.ts';
import { createFanout, REPORT_UPDATES_CHANNEL } from './fanout.ts';
import { acceptAwareness, presenceOf, presenceUser, rateLimiter } from './presence.ts';
import { awarenessMessage, awarenessProtocol, isEmptyUpdate, MESSAGE_AWARENESS, MESSAGE_SYNC, send, syncMessage } from './protocol.ts';
import { type CollabAccess, type Connection, Room } from './room.ts';

const PING_INTERVAL_MS = 30_000;
const PATH = /^\/collab\/([0-9a-f-]{36})$/i;

export interface CollabOptions {
  /** compact a report's log once this many rows / bytes are pending */
  compactUpdates?: number | undefined;
  compactBytes?: number | undefined;
  /** record an automatic version after this long without edits */
  versionQuietMs?: number | undefined;
  /** how often a live connection's session, role or share link is checked again (and pinged) */
  reauthorizeMs?: number | undefined;
  /** upgrades (by path) another listener on the server answers: Next's HMR in dev */
  leaveUpgrade?: ((pathname: string) => boolean) | undefined;
}

export interface Collab {
  /** Rooms currently in memory, for tests and metrics. */
  rooms: Map<string, Room>;
  /** Edits a report's document as the server (version restore), through its room. */
  docs: ReportDocs;
  close(): Promise<void>;
}

export function attachCollab(
  server: Server,
  deps: { database: Database; auth: Auth; logger: Logger; metrics: Metrics; store?: ReportStore | undefined } & CollabOptions,
): Collab {
  const { database, auth, logger, metrics } = deps;
  const origin = randomUUID();
  // our own store announces each append from its INSERT; an injected one is published for
  const announces = !deps.store && database.kind === 'postgres';
  const store = deps.store ?? createPostgresReportStore(database.db, { announce: announces ? { channel: REPORT_UPDATES_CHANNEL, origin } : undefined, logger });
  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });
  const rooms = new Map<string, Room>();
  const reauthorizeMs = deps.reauthorizeMs ?? PING_INTERVAL_MS;

  const fanout = createFanout(
    database,
    {
      stored(reportId, seqs) {
        const room = rooms.get(reportId);
        if (!room) return;
        void room.ready
          .then(async () => {
            const rows = seqs ? await store.updates(reportId, seqs) : [];
            // compacted already (or too many to list): the stored state has them
            if (!seqs || rows.length < seqs.length) {
              const state = await store.load(reportId);
              if (state) await room.applyStored(state);
            } else {
              for (const row of rows) await room.applyStored(row.update);
            }
          })
          .catch((error: unknown) => logger.error({ err: error, reportId }, 'update from another process not applied'));
      },
      resync() {
        for (const room of rooms.values()) {
          void room.ready
            .then(() => store.load(room.reportId))
            .then((state) => state && room.applyStored(state))
            .catch((error: unknown) => logger.error({ err: error, reportId: room.reportId }, 'report resync failed'));
        }
      },
    },
    logger,
    origin,
  );
  fanout.catch((error: unknown) => logger.error({ err: error }, 'LISTEN for report updates failed; edits from other processes will not arrive live'));

  const roomOptions = {
    store,
    logger,
    compactUpdates: deps.compactUpdates ?? 500,
    compactBytes: deps.compactBytes ?? 1024 * 1024,
    quietMs: deps.versionQuietMs ?? 120_000,
    onQuiet: (reportId: string) => recordVersion(database.db, reportId, { kind: 'auto', logger }),
    publish: announces
      ? () => {}
      : (reportId: string, seqs: number[]) =>
          void fanout.then(
            (f) => f.publish(reportId, seqs),
            () => {},
          ),
    // rooms load only once this process listens, so no stored update slips between the two
    before: fanout.catch(() => {}),
  };

  async function authorize(req: IncomingMessage, reportId: string, anonymous: CollabAccess['user']): Promise<CollabAccess> {
    const share = new URL(req.url ?? '/', 'http://x').searchParams.get('share');
    if (share !== null) return { ...(await shareAccess(database.db, share, reportId)), user: anonymous };
    const user = await sessionUser(auth, req.headers);
    if (!user) throw new DomainError('UNAUTHORIZED', 'sign in to open this report');
    const { canWrite } = await requireReport(database.db, { userId: user.id, via: 'session' }, reportId, 'read');
    // never the e-mail address: share-link viewers see everyone's presence
    return { userId: user.id, reportId, canWrite, user: presenceOf(user) };
  }

  /** 1013 "try again later": y-websocket reconnects and sends what the page kept. */
  const closeUnavailable = (ws: WebSocket, error: unknown, reportId?: string) => {
    logger.warn({ err: error, reportId }, 'collab: storage unavailable');
    ws.close(1013, 'storage unavailable, try again shortly');
  };

  const closeWith = (ws: WebSocket, error: unknown) => {
    if (error instanceof DomainError) ws.close(closeCodeOf[error.code], error.message.slice(0, 120));
    else if (isStorageUnavailable(error)) closeUnavailable(ws, error);
    else {
      logger.error({ err: error }, 'collab authorization failed');
      ws.close(1011, 'internal error');
    }
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const pathname = (req.url ?? '').split('?')[0] ?? '';
    if (!pathname.startsWith('/collab/')) {
      if (deps.leaveUpgrade?.(pathname)) return;
      // Nobody else answers it: unanswered, the socket would stay open (CLOSE-WAIT once the
      // client gives up) for as long as the process runs.
      socket.on('error', () => {});
      socket.once('finish', () => socket.destroy());
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nnot found');
      return;
    }
    const match = PATH.exec(pathname);
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (!match) return ws.close(closeCodeOf.NOT_FOUND, 'no such report');
      // Clients speak first (sync step 1) without waiting for us: keep what arrives
      // while we authorize, or it is lost.
      const early: Uint8Array[] = [];
      const buffer = (data: Buffer) => early.push(new Uint8Array(data));
      ws.on('message', buffer);
      const anonymous = presenceUser(`anonymous:${randomUUID()}`, 'Anonymous viewer');
      authorize(req, match[1]!.toLowerCase(), anonymous).then(
        (access) => {
          ws.off('message', buffer);
          join(ws, access, early, () => authorize(req, access.reportId, anonymous));
        },
        (error: unknown) => closeWith(ws, error),
      );
    });
  };
  server.on('upgrade', onUpgrade);

  function roomFor(reportId: string): Room {
    let room = rooms.get(reportId);
    // a room whose live document threw is sent away (its clients reconnect to a fresh load)
    if (room?.broken) {
      rooms.delete(reportId);
      room = undefined;
    }
    if (!room) {
      const created = new Room(reportId, roomOptions);
      rooms.set(reportId, created);
      // a failed load is not kept: the next visitor tries again
      created.ready.catch(() => rooms.get(reportId) === created && rooms.delete(reportId));
      room = created;
    }
    return room;
  }

  /**
   * Drops an empty room once its writes are stored, recording the session's automatic
   * version first (unless the caller records its own, as a restore does).
   */
  function release(room: Room, version = true) {
    if (room.conns.size) return;
    void (version ? room.recordVersion() : Promise.resolve())
      .then(() => room.settled())
      .then(() => {
        if (room.conns.size !== 0) return;
        // (a broken room was taken out of `rooms` already, when it was replaced)
        if (rooms.get(room.reportId) === room) rooms.delete(room.reportId);
        room.destroy();
      });
  }

  function join(ws: WebSocket, access: CollabAccess, early: Uint8Array[], reauthorize: () => Promise<CollabAccess>) {
    metrics.collabConnections.inc({ access: access.canWrite ? 'write' : 'read' });
    const room = roomFor(access.reportId);
    const conn: Connection = { access, clientIds: new Set(), awarenessBudget: rateLimiter() };
    // Messages that arrive while the stored state loads are handled in order afterwards.
    let queue = room.ready.then(() => {
      room.conns.set(ws, conn);
      send(
        ws,
        syncMessage((e) => syncProtocol.writeSyncStep1(e, room.doc)),
      );
      const states = room.awareness.getStates();
      if (states.size) send(ws, awarenessMessage(awarenessProtocol.encodeAwarenessUpdate(room.awareness, [...states.keys()])));
    });
    queue.catch((error: unknown) => {
      if (isStorageUnavailable(error)) return closeUnavailable(ws, error, access.reportId);
      logger.error({ err: error, reportId: access.reportId }, 'report could not be loaded');
      ws.close(1011, 'report could not be loaded');
    });
    const receive = (message: Uint8Array) => {
      queue = queue
        .then(() => handle(ws, room, conn, message))
        .catch((error: unknown) => {
          if (error instanceof DomainError) ws.close(closeCodeOf[error.code], error.message.slice(0, 120));
          else if (isStorageUnavailable(error)) closeUnavailable(ws, error, access.reportId);
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
      // A signed-out session, a removed member or a revoked share link loses the live
      // connection too, and a changed role takes effect, within one interval.
      reauthorize().then(
        (now) => (conn.access = now),
        (error: unknown) => {
          if (error instanceof DomainError) ws.close(closeCodeOf[error.code], error.message.slice(0, 120));
        },
      );
    }, reauthorizeMs);
    ws.on('close', () => {
      clearInterval(ping);
      room.leave(ws, conn);
      release(room);
    });
  }

  async function handle(ws: WebSocket, room: Room, conn: Connection, message: Uint8Array) {
    const decoder = decoding.createDecoder(message);
    const type = decoding.readVarUint(decoder);
    if (type === MESSAGE_AWARENESS) {
      if (!conn.awarenessBudget.take()) return;
      const accepted = acceptAwareness(decoding.readVarUint8Array(decoder), room.ownersFor(conn), conn.access.user);
      if (accepted) awarenessProtocol.applyAwarenessUpdate(room.awareness, accepted, ws);
      return;
    }
    if (type !== MESSAGE_SYNC) return;
    const syncType = decoding.readVarUint(decoder);
    if (syncType === syncProtocol.messageYjsSyncStep1) {
      send(ws, room.syncStep2(decoding.readVarUint8Array(decoder)));
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
    // builds on edits this room never got (they died with a crashed server): ask for them
    if ((await room.applyFromClient(update, conn.access.userId)) === 'missing')
      send(
        ws,
        syncMessage((e) => syncProtocol.writeSyncStep1(e, room.doc)),
      );
  }

  const docs: ReportDocs = {
    async edit(reportId, userId, change) {
      // Through the room (made for the occasion if nobody has the report open), so the
      // edit is ordered with client writes, stored first, and relayed everywhere.
      const room = roomFor(reportId);
      try {
        await room.ready;
        return await room.edit(userId, change);
      } finally {
        release(room, false);
      }
    },
  };

  return {
    rooms,
    docs,
    async close() {
      server.off('upgrade', onUpgrade);
      for (const ws of wss.clients) ws.close(1001, 'server shutting down');
      // what was edited in this session becomes a version before the database closes
      await Promise.all([...rooms.values()].map((room) => room.recordVersion().then(() => room.settled())));
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await fanout.then(
        (f) => f.close(),
        () => {},
      );
      setTimeout(() => wss.clients.forEach((ws) => ws.terminate()), 1000).unref();
    },
  };
}
