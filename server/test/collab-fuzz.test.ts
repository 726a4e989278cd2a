// Property-based fuzzing of the collab protocol against a real server: hostile Yjs updates
// and awareness messages from a writer's socket (hostile-yjs.ts). For every message: the
// socket is closed with a 4xxx/1003 code or the message is handled (a sync step 1 sent
// after it is answered) — never 1011, never a stall; nothing is quarantined (so nothing that
// does not load was stored); the stored document equals the live one; another user's
// presence is untouched. Afterwards a fresh client syncs the same document as the editor.
// A few cases in the normal run; FUZZ_RUNS=10000 (npm run fuzz) for the nightly one,
// FUZZ_SEED to replay a failure.
import { count, eq, reportQuarantine } from '@cellmark/db';
import fc from 'fast-check';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as syncProtocol from 'y-protocols/sync';
import type { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { colorFor } from '../src/collab/presence.ts';
import { copyDoc, createPostgresReportStore } from '../src/domain/reports/store.ts';
import { provider, rawAwareness, rawSocket, updateMessage } from './collab-clients.ts';
import { eventually, startTestServer, type TestServer, userWithProject } from './helpers.ts';
import { awarenessPlan, awarenessUpdateOf, updateOf, updatePlan } from './hostile-yjs.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 25);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
/** per case, generously: a case takes ~10 ms */
const timeout = 30_000 + RUNS * 200;
/** what a hostile message may be closed with: our 4xxx codes, 1003 (unsupported data), 1009 (too big) */
const ALLOWED = (code: number) => (code >= 4000 && code < 5000) || code === 1003 || code === 1009;

let server: TestServer;
let owner: Awaited<ReturnType<typeof userWithProject>>;
let reportId: string;
let editor: ReturnType<typeof provider>;
let watcher: ReturnType<typeof provider>;
const providers: WebsocketProvider[] = [];
const store = () => createPostgresReportStore(server.database.db);

beforeAll(async () => {
  server = await startTestServer();
  owner = await userWithProject(server, 'owner');
  ({ id: reportId } = await owner.api.reports.create.mutate({ projectId: owner.project.id, title: 'Fuzzed' }));
  editor = provider(server, reportId, { cookie: owner.cookie }, providers);
  watcher = provider(server, reportId, { cookie: owner.cookie }, providers);
  await eventually(() => expect(editor.provider.synced && watcher.provider.synced).toBe(true));
  const fragment = editor.doc.getXmlFragment('prosemirror');
  const p = new Y.XmlElement('paragraph');
  p.insert(0, [new Y.XmlText('the report as it was')]);
  fragment.insert(0, [p, new Y.XmlElement('runChart')]);
  editor.provider.awareness.setLocalStateField('user', { id: owner.id, name: 'owner', color: colorFor(owner.id) });
  await eventually(() => expect(server.collab.rooms.get(reportId)?.doc.getXmlFragment('prosemirror').length).toBe(2));
});
afterAll(async () => {
  providers.forEach((p) => p.destroy());
  await server?.dispose();
});

/** A sync step 1 with an empty state vector: the server answers with a step 2. */
function step1() {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 0);
  syncProtocol.writeSyncStep1(e, new Y.Doc());
  return encoding.toUint8Array(e);
}
const isStep2 = (data: Buffer) => {
  const d = decoding.createDecoder(new Uint8Array(data));
  return decoding.readVarUint(d) === 0 && decoding.readVarUint(d) === syncProtocol.messageYjsSyncStep2;
};

/** Sends `message` on a fresh writer socket: 'handled', or the close code. */
async function send(message: Uint8Array): Promise<'handled' | number> {
  const raw = rawSocket(server, reportId, { cookie: owner.cookie });
  await new Promise((r, j) => {
    raw.ws.once('message', r);
    raw.ws.once('close', () => j(new Error('closed before it was authorized')));
  });
  const answered = new Promise<'handled'>((resolve) => raw.ws.on('message', (data: Buffer) => isStep2(data) && resolve('handled')));
  raw.ws.send(message);
  raw.ws.send(step1());
  const stalled = new Promise<'stalled'>((r) => setTimeout(() => r('stalled'), 10_000).unref());
  const outcome = await Promise.race([answered, raw.closed.then((c) => c.code), stalled]);
  raw.ws.close();
  if (outcome === 'stalled') throw new Error('no answer and not closed in 10 s');
  return outcome;
}

async function quarantined() {
  const [row] = await server.database.db.select({ n: count() }).from(reportQuarantine).where(eq(reportQuarantine.reportId, reportId));
  return row!.n;
}

/** The live room's document, the stored one and a copy (as the room checks updates on) agree. */
async function storedMatchesLive() {
  const room = server.collab.rooms.get(reportId)!;
  await room.flushed();
  const stored = await store().loadDoc(reportId);
  expect(stored.quarantined).toEqual([]);
  expectSameState(stored.doc, room.doc, 'stored');
  stored.doc.destroy();
  const copy = copyDoc(room.doc);
  expectSameState(copy, room.doc, 'scratch copy');
  copy.destroy();
}

function expectSameState(doc: Y.Doc, live: Y.Doc, what: string) {
  const [a, b] = [Y.snapshot(live), Y.snapshot(doc)];
  if (!Y.equalSnapshots(a, b)) {
    const byClient = (x: [number, unknown], y: [number, unknown]) => x[0] - y[0];
    const show = (snap: Y.Snapshot) => ({
      sv: [...snap.sv].sort(byClient),
      ds: [...snap.ds.clients].map(([c, items]): [number, number[][]] => [c, items.map((i) => [i.clock, i.len])]).sort(byClient),
    });
    expect(show(b), what).toEqual(show(a));
  }
}

const property = (runs: number) => ({ numRuns: runs, seed: SEED, endOnFailure: true });

describe('collab fuzz', () => {
  it(
    `hostile updates: closed 4xxx/1003 or handled, never 1011 or a stall; nothing half-stored (${RUNS} runs)`,
    async () => {
      const outcomes = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(updatePlan, async (plan) => {
          const room = server.collab.rooms.get(reportId)!;
          const update = updateOf(plan, room.doc);
          const outcome = await send(updateMessage(update));
          outcomes.set(String(outcome), (outcomes.get(String(outcome)) ?? 0) + 1);
          if (outcome !== 'handled') expect(outcome, `closed ${outcome}`).toSatisfy(ALLOWED);
          expect(await quarantined()).toBe(0);
          await storedMatchesLive();
        }),
        property(RUNS),
      );
      // a fresh client syncs what the editor has
      const fresh = provider(server, reportId, { cookie: owner.cookie }, providers);
      await eventually(() => {
        expect(fresh.provider.synced).toBe(true);
        expect(Y.equalSnapshots(Y.snapshot(fresh.doc), Y.snapshot(editor.doc))).toBe(true);
        expect(fresh.doc.getXmlFragment('prosemirror').toString()).toBe(editor.doc.getXmlFragment('prosemirror').toString());
      });
      fresh.provider.destroy();
      console.info(`hostile updates, ${RUNS} runs:`, Object.fromEntries(outcomes));
    },
    timeout,
  );

  it(
    `hostile awareness: closed 4xxx or handled; another client's presence untouched (${RUNS} runs)`,
    async () => {
      const victim = editor.doc.clientID;
      const room = server.collab.rooms.get(reportId)!;
      const before = JSON.stringify(room.awareness.getStates().get(victim));
      expect(before).toContain(owner.id);
      const outcomes = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(awarenessPlan, async (plan) => {
          const outcome = await send(rawAwareness(awarenessUpdateOf(plan, victim)));
          outcomes.set(String(outcome), (outcomes.get(String(outcome)) ?? 0) + 1);
          if (outcome !== 'handled') expect(outcome, `closed ${outcome}`).toSatisfy(ALLOWED);
          expect(JSON.stringify(room.awareness.getStates().get(victim))).toBe(before);
          // whatever another socket left is shown as the session's user
          for (const [id, state] of room.awareness.getStates()) {
            if (id !== victim && state.user) expect(state.user).toEqual({ id: owner.id, name: 'owner', color: colorFor(owner.id) });
          }
        }),
        property(RUNS),
      );
      console.info(`hostile awareness, ${RUNS} runs:`, Object.fromEntries(outcomes));
    },
    timeout,
  );
});
