// What a hostile client may not do to a report: brick it with an update that does not apply,
// pose as someone else (or flood everyone) through presence, or leave sockets open by
// upgrading where nobody answers.
import net from 'node:net';
import { count, eq, reportQuarantine, reportUpdates } from '@cellmark/db';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as syncProtocol from 'y-protocols/sync';
import type { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { colorFor } from '../src/collab/presence.ts';
import { unappliableUpdates } from '../src/domain/reports/store.contract.ts';
import { createPostgresReportStore } from '../src/domain/reports/store.ts';
import { awarenessFor, forgedUpdate, othersSeen, provider, rawAwareness, rawSocket, updateMessage } from './collab-clients.ts';
import { type Client, errorOf, eventually, signUp, startTestServer, type TestServer, type TestUser, trpcClient, userWithProject } from './helpers.ts';

let server: TestServer;
let owner: Awaited<ReturnType<typeof userWithProject>>;
let viewer: TestUser;
let anonymous: Client;
const providers: WebsocketProvider[] = [];

beforeAll(async () => {
  server = await startTestServer();
  owner = await userWithProject(server, 'owner');
  viewer = await signUp(server, 'viewer');
  await owner.api.teams.addMember.mutate({ teamId: owner.team.id, email: viewer.email, role: 'viewer' });
  anonymous = trpcClient(server.url);
});
afterAll(async () => {
  providers.forEach((p) => p.destroy());
  await server?.dispose();
});

const newReport = async (title = 'Notes') => (await owner.api.reports.create.mutate({ projectId: owner.project.id, title })).id;
const connect = (reportId: string, who: { cookie?: string; share?: string }) => provider(server, reportId, who, providers);
const synced = (c: { provider: WebsocketProvider }) => eventually(() => expect(c.provider.synced).toBe(true));

async function rows(table: typeof reportUpdates | typeof reportQuarantine, reportId: string) {
  const [row] = await server.database.db.select({ n: count() }).from(table).where(eq(table.reportId, reportId));
  return row!.n;
}

/** An open raw socket, once the server has spoken (authorized and loaded). */
async function openSocket(reportId: string, who: { cookie?: string; share?: string }) {
  const raw = rawSocket(server, reportId, who);
  await new Promise((r) => raw.ws.once('message', r));
  return raw;
}

describe('updates that do not apply', () => {
  it('close the writer 4400 and are not stored; the report still opens, versions and share reads work', async () => {
    const reportId = await newReport();
    const a = connect(reportId, { cookie: owner.cookie });
    await synced(a);
    a.text.insert(0, 'kept words');
    await eventually(async () => expect(await rows(reportUpdates, reportId)).toBe(1));
    for (const bad of unappliableUpdates()) {
      const raw = await openSocket(reportId, { cookie: owner.cookie });
      raw.ws.send(updateMessage(bad));
      expect(await raw.closed).toMatchObject({ code: 4400, reason: expect.stringMatching(/^update could not be applied/) });
    }
    expect(await rows(reportUpdates, reportId)).toBe(1);
    expect(await rows(reportQuarantine, reportId)).toBe(0);
    // the live room goes on, and a fresh client syncs the same document
    a.text.insert(a.text.length, ', and more');
    const b = connect(reportId, { cookie: viewer.cookie });
    await eventually(() => expect(b.text.toString()).toBe('kept words, and more'));
    await expect(owner.api.reportHistory.create.mutate({ reportId, name: 'after the attack' })).resolves.toMatchObject({ name: 'after the attack' });
    const { token } = await owner.api.reportShares.create.mutate({ reportId });
    await expect(anonymous.reportShares.runs.query({ token })).resolves.toMatchObject({ runs: [] });
  });

  it('that build on edits the room never got (a crashed server lost them) are not stored and the writer is asked for them: no close', async () => {
    const reportId = await newReport();
    // the client typed "lost " into a server that died before storing it, then " words" after reconnecting
    const mine = new Y.Doc();
    const typed: Uint8Array[] = [];
    mine.on('update', (u: Uint8Array) => typed.push(u));
    mine.getText('content').insert(0, 'lost');
    mine.getText('content').insert(4, ' words');
    const raw = await openSocket(reportId, { cookie: owner.cookie });
    const asked = new Promise<Uint8Array>((resolve) =>
      raw.ws.on('message', (data: Buffer) => {
        const d = decoding.createDecoder(new Uint8Array(data));
        if (decoding.readVarUint(d) === 0 && decoding.readVarUint(d) === syncProtocol.messageYjsSyncStep1) resolve(decoding.readVarUint8Array(d));
      }),
    );
    raw.ws.send(updateMessage(typed[1]!));
    // the room answers with a sync step 1; our step 2 from its state vector carries both edits
    const stateVector = await asked;
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 0);
    syncProtocol.writeSyncStep2(e, mine, stateVector);
    raw.ws.send(encoding.toUint8Array(e));
    const b = connect(reportId, { cookie: viewer.cookie });
    await eventually(() => expect(b.text.toString()).toBe('lost words'));
    expect(raw.ws.readyState).toBe(raw.ws.OPEN);
    raw.ws.close();
  });

  it('already stored (by an older server) are quarantined by whatever reads them first; the report opens from the rest', async () => {
    const reportId = await newReport();
    const a = connect(reportId, { cookie: owner.cookie });
    await synced(a);
    a.text.insert(0, 'good');
    await eventually(async () => expect(await rows(reportUpdates, reportId)).toBe(1));
    a.provider.destroy();
    await eventually(() => expect(server.collab.rooms.has(reportId)).toBe(false));
    const store = createPostgresReportStore(server.database.db);
    const [bad, alsoBad] = unappliableUpdates();

    // a room opening it
    await store.append(reportId, bad!, owner.id);
    const b = connect(reportId, { cookie: owner.cookie });
    await eventually(() => expect(b.text.toString()).toBe('good'));
    expect(await rows(reportQuarantine, reportId)).toBe(1);
    b.text.insert(4, ' and new');
    await eventually(async () => expect(await rows(reportUpdates, reportId)).toBe(2));

    // a named version (read under the compaction lock), while the room is open
    await store.append(reportId, alsoBad!, owner.id);
    await expect(owner.api.reportHistory.create.mutate({ reportId, name: 'v1' }).catch(errorOf)).resolves.toMatchObject({ name: 'v1' });
    expect(await rows(reportQuarantine, reportId)).toBe(2);
    const [version] = await owner.api.reportHistory.list.query({ reportId });
    expect(await owner.api.reportHistory.get.query({ reportId, versionId: version!.id })).toMatchObject({ name: 'v1' });

    // a share link's chart reads (the stored document, parsed on the server)
    await store.append(reportId, bad!, owner.id);
    const { token } = await owner.api.reportShares.create.mutate({ reportId });
    await expect(anonymous.reportShares.runs.query({ token }).catch(errorOf)).resolves.toMatchObject({ runs: [] });
    expect(await rows(reportQuarantine, reportId)).toBe(3);

    const reasons = await server.database.db.select().from(reportQuarantine).where(eq(reportQuarantine.reportId, reportId));
    expect(reasons.every((r) => r.reason.length > 0 && r.userId === owner.id)).toBe(true);
    const c = connect(reportId, { cookie: viewer.cookie });
    await eventually(() => expect(c.text.toString()).toBe('good and new'));
  });
});

describe('presence', () => {
  it("is set by a socket only for its own client ids, with the session's identity; share viewers are anonymous", async () => {
    const reportId = await newReport();
    const e = connect(reportId, { cookie: owner.cookie });
    const w = connect(reportId, { cookie: owner.cookie });
    await synced(e);
    await synced(w);
    e.provider.awareness.setLocalStateField('user', { id: owner.id, name: 'Owner', color: '#000000' });
    const ownerUser = { id: owner.id, name: 'owner', color: colorFor(owner.id) };
    await eventually(() => expect(othersSeen(w.provider).get(e.doc.clientID)).toMatchObject({ user: ownerUser }));
    // the web's own caret is what me.get says: the same name and colour the others see
    expect((await owner.api.me.get.query()).presence).toEqual(ownerUser);

    // a viewer overwriting the owner's entry: dropped; inventing the owner on an id of its own: shown as the viewer
    const v = await openSocket(reportId, { cookie: viewer.cookie });
    v.ws.send(awarenessFor(e.doc.clientID, { user: { id: 'x', name: 'Hacker', color: '#ff0000' } }, 1000));
    v.ws.send(awarenessFor(12345, { user: { id: owner.id, name: 'owner' }, cursor: null }));
    await eventually(() =>
      expect(othersSeen(w.provider).get(12345)).toEqual({ user: { id: viewer.id, name: 'viewer', color: colorFor(viewer.id) }, cursor: null }),
    );
    expect(othersSeen(w.provider).get(e.doc.clientID)).toMatchObject({ user: ownerUser });

    // a share link's socket
    const { token } = await owner.api.reportShares.create.mutate({ reportId });
    const s = await openSocket(reportId, { share: token });
    s.ws.send(awarenessFor(777, { user: { id: owner.id, name: 'owner' } }));
    await eventually(() =>
      expect(othersSeen(w.provider).get(777)).toMatchObject({ user: { id: expect.stringMatching(/^anonymous:/), name: 'Anonymous viewer' } }),
    );
    expect(othersSeen(w.provider).get(e.doc.clientID)).toMatchObject({ user: ownerUser });
    // nobody was closed for trying
    expect([v.ws.readyState, s.ws.readyState]).toEqual([v.ws.OPEN, s.ws.OPEN]);
    // a socket that left frees its ids
    v.ws.close();
    await eventually(() => expect(othersSeen(w.provider).has(12345)).toBe(false));
    s.ws.close();
  });

  it('refuses oversize (4413) and malformed (4400) messages, at most 4 ids per socket, rate-limited', async () => {
    const reportId = await newReport();
    const w = connect(reportId, { cookie: owner.cookie });
    await synced(w);

    const big = await openSocket(reportId, { cookie: viewer.cookie });
    big.ws.send(awarenessFor(555, { pad: 'x'.repeat(4_900_000) }));
    expect((await big.closed).code).toBe(4413);
    const wide = await openSocket(reportId, { cookie: viewer.cookie });
    wide.ws.send(awarenessFor(556, { pad: 'x'.repeat(5000) }));
    expect((await wide.closed).code).toBe(4413);
    const garbage = await openSocket(reportId, { cookie: viewer.cookie });
    garbage.ws.send(rawAwareness(new Uint8Array([1, 9, 1, 3, 0x7b, 0x7b, 0x7b])));
    expect((await garbage.closed).code).toBe(4400);

    // ten ids in one message: the first four are claimed
    const many = await openSocket(reportId, { cookie: viewer.cookie });
    for (let id = 600; id < 610; id++) many.ws.send(awarenessFor(id, { n: id }));
    await eventually(() => expect([...othersSeen(w.provider).keys()].sort()).toEqual([600, 601, 602, 603]));
    expect(othersSeen(w.provider).has(555)).toBe(false);

    // a burst far past the budget: what is relayed stops near the budget
    const flood = await openSocket(reportId, { cookie: viewer.cookie });
    for (let n = 1; n <= 400; n++) flood.ws.send(awarenessFor(700, { n }, n));
    await eventually(() => expect(othersSeen(w.provider).get(700)).toBeDefined());
    await new Promise((r) => setTimeout(r, 300));
    expect((othersSeen(w.provider).get(700) as { n: number }).n).toBeLessThan(150);
    expect(flood.ws.readyState).toBe(flood.ws.OPEN);
    many.ws.close();
    flood.ws.close();
  });
});

describe('upgrades outside /collab/', () => {
  it('are answered 404 and closed by the server', async () => {
    const { port } = new URL(server.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    let received = '';
    socket.on('data', (d) => (received += d.toString()));
    const ended = new Promise<void>((resolve) => socket.once('end', () => resolve()));
    socket.write(
      'GET /anything/else HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    const outcome = await Promise.race([ended.then(() => 'closed by the server'), new Promise((r) => setTimeout(() => r('left open'), 3000))]);
    socket.destroy();
    expect(outcome).toBe('closed by the server');
    expect(received).toMatch(/^HTTP\/1\.1 404 /);
  });
});

describe('storage down', () => {
  it('closes a writer 1013 (try again later), not as a malformed message, when its edit cannot be stored', async () => {
    const down = await startTestServer();
    try {
      const someone = await userWithProject(down, 'writer');
      const reportId = (await someone.api.reports.create.mutate({ projectId: someone.project.id, title: 'Notes' })).id;
      const raw = rawSocket(down, reportId, { cookie: someone.cookie });
      await new Promise((r) => raw.ws.once('message', r));
      await down.database.close();
      raw.ws.send(forgedUpdate('kept locally, sent again on reconnect'));
      // the soak's fault run saw 1003 "malformed message" while Postgres was down
      expect(await raw.closed).toEqual({ code: 1013, reason: 'storage unavailable, try again shortly' });
    } finally {
      await down.stopHttp();
    }
  });
});
