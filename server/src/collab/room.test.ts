// The room's read side: what a new client is sent (the stored snapshot as it is, until the
// document changes) and that edits after the load are relayed.
import { createDb } from '@cellmark/db';
import * as decoding from 'lib0/decoding';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { seedReport } from '../domain/reports/store.contract.ts';
import { createPostgresReportStore, type ReportStore } from '../domain/reports/store.ts';
import { createLogger } from '../logger.ts';
import { presenceUser, rateLimiter } from './presence.ts';
import { awarenessProtocol, MESSAGE_AWARENESS, MESSAGE_SYNC } from './protocol.ts';
import { Room } from './room.ts';

/** The update inside a sync step 2 / update message. */
function updateOf(message: Uint8Array) {
  const decoder = decoding.createDecoder(message);
  expect(decoding.readVarUint(decoder)).toBe(MESSAGE_SYNC);
  const type = decoding.readVarUint(decoder);
  return { type, update: decoding.readVarUint8Array(decoder) };
}

function textOf(update: Uint8Array) {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, update);
  return doc.getText('t').toString();
}

/** A room on `store` with one fake editor socket whose sent messages collect in `sent`. */
async function openRoom(store: ReportStore, reportId: string, userId: string) {
  const room = new Room(reportId, {
    store,
    logger: createLogger('silent'),
    compactUpdates: 1000,
    compactBytes: 1 << 30,
    quietMs: 60_000,
    onQuiet: async () => {},
    publish: () => {},
  });
  await room.ready;
  const sent: Uint8Array[] = [];
  const socket = { readyState: WebSocket.OPEN, send: (m: Uint8Array) => sent.push(m) } as unknown as WebSocket;
  room.conns.set(socket, {
    access: { userId, reportId, canWrite: true, user: presenceUser(userId, 'Ada') },
    clientIds: new Set(),
    awarenessBudget: rateLimiter(),
  });
  return { room, sent, socket };
}

describe('Room', () => {
  it('sends a fresh client the stored snapshot as it is, and the current document once it changed', async () => {
    const database = await createDb({ memory: true });
    try {
      const { reportId, userId } = await seedReport(database);
      const store = createPostgresReportStore(database.db);
      const author = new Y.Doc();
      const updates: Uint8Array[] = [];
      author.on('update', (u: Uint8Array) => updates.push(u));
      author.getText('t').insert(0, 'stored');
      for (const u of updates.splice(0)) await store.append(reportId, u, userId);
      await store.compact(reportId);
      const snapshot = (await store.load(reportId))!;

      const { room, sent } = await openRoom(store, reportId, userId);

      const empty = Y.encodeStateVector(new Y.Doc());
      const first = updateOf(room.syncStep2(empty));
      expect(first.type).toBe(syncProtocol.messageYjsSyncStep2);
      expect(first.update).toEqual(snapshot);
      expect(sent).toEqual([]); // loading relayed nothing

      author.getText('t').insert(6, ' and edited');
      await room.applyFromClient(updates.splice(0)[0]!, userId);
      expect(sent).toHaveLength(1);
      expect(updateOf(sent[0]!).type).toBe(syncProtocol.messageYjsUpdate);
      const again = updateOf(room.syncStep2(empty));
      expect(textOf(again.update)).toBe('stored and edited');
      // encoded once for every fresh client until the next change
      expect(room.syncStep2(empty)).toBe(room.syncStep2(empty));
      // a client that has some of it gets only what it lacks
      const partial = updateOf(room.syncStep2(Y.encodeStateVectorFromUpdate(snapshot)));
      expect(Y.decodeUpdate(partial.update).structs.map((st) => st.id.clock)).toEqual(['stored'.length]);
      const caughtUp = new Y.Doc();
      Y.applyUpdate(caughtUp, snapshot);
      Y.applyUpdate(caughtUp, partial.update);
      expect(caughtUp.getText('t').toString()).toBe('stored and edited');
      await room.settled();
      room.destroy();
    } finally {
      await database.close();
    }
  });

  it('relays a burst of presence changes as one message, with every client in it', async () => {
    const database = await createDb({ memory: true });
    try {
      const { reportId, userId } = await seedReport(database);
      const { room, sent, socket } = await openRoom(createPostgresReportStore(database.db), reportId, userId);
      const clients = Array.from({ length: 5 }, (_, i) => {
        const awareness = new awarenessProtocol.Awareness(new Y.Doc());
        awareness.setLocalState({ user: `u${i}` });
        return awareness;
      });
      for (const a of clients) awarenessProtocol.applyAwarenessUpdate(room.awareness, awarenessProtocol.encodeAwarenessUpdate(a, [a.clientID]), socket);
      expect(sent).toEqual([]);
      await new Promise((r) => setTimeout(r, 200));
      expect(sent).toHaveLength(1);
      const decoder = decoding.createDecoder(sent[0]!);
      expect(decoding.readVarUint(decoder)).toBe(MESSAGE_AWARENESS);
      const seen = new awarenessProtocol.Awareness(new Y.Doc());
      awarenessProtocol.applyAwarenessUpdate(seen, decoding.readVarUint8Array(decoder), null);
      const users = [...seen.getStates()].filter(([id]) => id !== seen.clientID).map(([, state]) => state.user);
      expect(users.sort()).toEqual(['u0', 'u1', 'u2', 'u3', 'u4']);
      clients.forEach((a) => a.destroy());
      seen.destroy();
      room.destroy();
    } finally {
      await database.close();
    }
  });
});
