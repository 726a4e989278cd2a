// Reports over /collab/<reportId> with real y-websocket clients and raw sockets.
import { count, eq, reports, reportUpdates } from '@cellmark/db';
import * as encoding from 'lib0/encoding';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as syncProtocol from 'y-protocols/sync';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { createPostgresReportStore } from '../src/domain/reports/store.ts';
import { eventually, signUp, startTestServer, type TestServer, type TestUser, userWithProject } from './helpers.ts';

let server: TestServer;
let owner: Awaited<ReturnType<typeof userWithProject>>;
let editor: TestUser;
let viewer: TestUser;
let reportId: string;
const providers: WebsocketProvider[] = [];

function socketClass(cookie?: string) {
  return class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers: cookie ? { cookie } : {} });
    }
  };
}

function connect(user: { cookie: string }, id = reportId) {
  return connectTo(server, user, id);
}

function connectTo(target: { url: string }, user: { cookie: string }, id: string) {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(`${target.url.replace('http', 'ws')}/collab`, id, doc, {
    WebSocketPolyfill: socketClass(user.cookie) as never,
    disableBc: true,
  });
  providers.push(provider);
  return { doc, text: doc.getText('content'), provider };
}

function rawSocket(cookie: string | undefined, id = reportId) {
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/collab/${id}`, { headers: cookie ? { cookie } : {} });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return { ws, closed };
}

async function storedUpdates() {
  const [row] = await server.database.db.select({ n: count() }).from(reportUpdates).where(eq(reportUpdates.reportId, reportId));
  return row!.n;
}

beforeAll(async () => {
  server = await startTestServer();
  owner = await userWithProject(server, 'owner');
  editor = await signUp(server, 'editor');
  viewer = await signUp(server, 'viewer');
  await owner.api.teams.addMember.mutate({ teamId: owner.team.id, email: editor.email, role: 'editor' });
  await owner.api.teams.addMember.mutate({ teamId: owner.team.id, email: viewer.email, role: 'viewer' });
  ({ id: reportId } = await owner.api.reports.create.mutate({ projectId: owner.project.id, title: 'Notes' }));
});
afterAll(async () => {
  providers.forEach((p) => p.destroy());
  await server?.dispose();
});

describe('collab', () => {
  it('two editors converge, and the text survives a server restart', async () => {
    const a = connect(owner);
    const b = connect(editor);
    await eventually(() => expect(a.provider.synced && b.provider.synced).toBe(true));
    a.text.insert(0, 'hello ');
    b.text.insert(0, 'world ');
    await eventually(() => {
      expect(a.text.toString()).toBe(b.text.toString());
      expect(a.text.toString()).toMatch(/hello/);
      expect(a.text.toString()).toMatch(/world/);
    });
    const final = a.text.toString();
    a.provider.destroy();
    b.provider.destroy();

    server = await server.restart();
    const c = connect(viewer);
    await eventually(() => expect(c.text.toString()).toBe(final));
  });

  it("refuses a viewer's crafted update with 4403 and stores nothing", async () => {
    const before = await storedUpdates();
    const { ws, closed } = rawSocket(viewer.cookie);
    await new Promise((resolve) => ws.once('message', resolve)); // server's sync step 1
    const forged = new Y.Doc();
    forged.getText('content').insert(0, 'vandalism');
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, 0);
    syncProtocol.writeUpdate(encoder, Y.encodeStateAsUpdate(forged));
    ws.send(encoding.toUint8Array(encoder));
    expect((await closed).code).toBe(4403);
    expect(await storedUpdates()).toBe(before);
    const check = connect(owner);
    await eventually(() => expect(check.provider.synced).toBe(true));
    expect(check.text.toString()).not.toMatch(/vandalism/);
  });

  it('answers clients that speak before their authorization finished', async () => {
    // y-websocket sends sync step 1 as soon as the socket opens; it must not be dropped.
    // Twenty at once make authorization slower than the first message.
    const sockets = Array.from({ length: 20 }, () => {
      const ws = new WebSocket(`${server.url.replace('http', 'ws')}/collab/${reportId}`, { headers: { cookie: owner.cookie } });
      const received: Uint8Array[] = [];
      ws.on('message', (m: Buffer) => received.push(new Uint8Array(m)));
      ws.on('open', () => {
        const encoder = encoding.createEncoder();
        encoding.writeVarUint(encoder, 0);
        syncProtocol.writeSyncStep1(encoder, new Y.Doc());
        ws.send(encoding.toUint8Array(encoder));
      });
      return { ws, received };
    });
    // [0 = sync, 1 = step 2]: the reply to our step 1
    await eventually(() => {
      for (const { received } of sockets) expect(received.some((m) => m[0] === 0 && m[1] === 1)).toBe(true);
    });
    sockets.forEach(({ ws }) => ws.close());
  });

  it("moves the report's updatedAt when its content is edited", async () => {
    const past = new Date(Date.now() - 3600_000);
    await server.database.db.update(reports).set({ updatedAt: past }).where(eq(reports.id, reportId));
    const a = connect(owner);
    await eventually(() => expect(a.provider.synced).toBe(true));
    a.text.insert(0, 'edit ');
    await eventually(async () => {
      const [row] = await server.database.db.select({ updatedAt: reports.updatedAt }).from(reports).where(eq(reports.id, reportId));
      expect(row!.updatedAt.getTime()).toBeGreaterThan(past.getTime() + 3000_000);
    });
    a.provider.destroy();
  });

  it('closes with named codes: 4401 signed out, 4403 other team, 4404 unknown report', async () => {
    expect((await rawSocket(undefined).closed).code).toBe(4401);
    const outsider = await userWithProject(server, 'outsider');
    expect((await rawSocket(outsider.cookie).closed).code).toBe(4403);
    expect((await rawSocket(owner.cookie, '00000000-0000-4000-8000-000000000000').closed).code).toBe(4404);
    expect((await rawSocket(owner.cookie, 'not-a-uuid').closed).code).toBe(4404);
  });
});

describe('durability', () => {
  it('relays an update only after Postgres has stored it', async () => {
    let release!: () => void;
    let gate: Promise<void> | null = null;
    const gated = await startTestServer({}, undefined, (database) => {
      const real = createPostgresReportStore(database.db);
      return {
        ...real,
        appendMany: async (...args) => {
          await gate;
          return real.appendMany(...args);
        },
      };
    });
    try {
      const alice = await userWithProject(gated, 'alice');
      const { id } = await alice.api.reports.create.mutate({ projectId: alice.project.id, title: 'Gated' });
      const a = connectTo(gated, alice, id);
      const b = connectTo(gated, alice, id);
      await eventually(() => expect(a.provider.synced && b.provider.synced).toBe(true));
      gate = new Promise((r) => (release = r));
      a.text.insert(0, 'persist me');
      await new Promise((r) => setTimeout(r, 300));
      expect(b.text.toString()).toBe(''); // not relayed while the write is pending
      const [stored] = await gated.database.db.select({ n: count() }).from(reportUpdates).where(eq(reportUpdates.reportId, id));
      expect(stored!.n).toBe(0);
      release();
      await eventually(() => expect(b.text.toString()).toBe('persist me'));
    } finally {
      await gated.dispose();
    }
  });

  it('stores what arrives during a write in the next single transaction (group commit)', async () => {
    let release!: () => void;
    let gate: Promise<void> | null = null;
    const batches: number[] = [];
    const gated = await startTestServer({}, undefined, (database) => {
      const real = createPostgresReportStore(database.db);
      return {
        ...real,
        appendMany: async (reportId, entries) => {
          batches.push(entries.length);
          await gate;
          return real.appendMany(reportId, entries);
        },
      };
    });
    try {
      const alice = await userWithProject(gated, 'alice');
      const bob = await signUp(gated, 'bob');
      await alice.api.teams.addMember.mutate({ teamId: alice.team.id, email: bob.email, role: 'editor' });
      const { id } = await alice.api.reports.create.mutate({ projectId: alice.project.id, title: 'Batched' });
      const writers = [connectTo(gated, alice, id), connectTo(gated, bob, id), connectTo(gated, alice, id)];
      const reader = connectTo(gated, bob, id);
      await eventually(() => expect([...writers, reader].every((c) => c.provider.synced)).toBe(true));
      gate = new Promise((r) => (release = r));
      writers[0]!.text.insert(0, 'a');
      await eventually(() => expect(batches).toHaveLength(1)); // the first write is in flight
      writers[1]!.text.insert(0, 'b');
      writers[2]!.text.insert(0, 'c');
      await new Promise((r) => setTimeout(r, 300));
      expect(reader.text.toString()).toBe('');
      release();
      await eventually(() => expect(reader.text.length).toBe(3));
      expect(batches).toEqual([1, 2]);
      const rows = await gated.database.db.select({ userId: reportUpdates.userId }).from(reportUpdates).where(eq(reportUpdates.reportId, id));
      expect(rows.map((r) => r.userId).sort()).toEqual([alice.id, alice.id, bob.id].sort());
    } finally {
      await gated.dispose();
    }
  });
});

describe('live connections follow session and role changes', () => {
  let fast: TestServer;
  beforeAll(async () => {
    fast = await startTestServer({ CELLMARK_COLLAB_REAUTH_MS: '200' });
  });
  afterAll(() => fast?.dispose());

  function socketTo(cookie: string, id: string) {
    const ws = new WebSocket(`${fast.url.replace('http', 'ws')}/collab/${id}`, { headers: { cookie } });
    return { ws, closed: new Promise<number>((r) => ws.on('close', (code) => r(code))) };
  }

  it('closes 4401 once the session is signed out', async () => {
    const alice = await userWithProject(fast, 'alice');
    const { id } = await alice.api.reports.create.mutate({ projectId: alice.project.id, title: 'Live' });
    const { ws, closed } = socketTo(alice.cookie, id);
    await new Promise((r) => ws.once('message', r));
    const signOut = await fetch(`${fast.url}/api/auth/sign-out`, { method: 'POST', headers: { cookie: alice.cookie, origin: fast.url } });
    expect(signOut.status).toBe(200);
    expect(await closed).toBe(4401);
  });

  it('refuses writes (4403) once an editor is demoted to viewer', async () => {
    const alice = await userWithProject(fast, 'alice');
    const bob = await signUp(fast, 'bob');
    await alice.api.teams.addMember.mutate({ teamId: alice.team.id, email: bob.email, role: 'editor' });
    const { id } = await alice.api.reports.create.mutate({ projectId: alice.project.id, title: 'Live' });
    const { ws, closed } = socketTo(bob.cookie, id);
    await new Promise((r) => ws.once('message', r));
    await alice.api.teams.addMember.mutate({ teamId: alice.team.id, email: bob.email, role: 'viewer' });
    const doc = new Y.Doc();
    let code = 0;
    void closed.then((c) => (code = c));
    // keep typing until the server notices the demotion
    await eventually(() => {
      doc.getText('content').insert(0, 'x');
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, 0);
      syncProtocol.writeUpdate(encoder, Y.encodeStateAsUpdate(doc));
      if (ws.readyState === WebSocket.OPEN) ws.send(encoding.toUint8Array(encoder));
      expect(code).toBe(4403);
    });
  });
});
