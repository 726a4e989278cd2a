// Cold load of a long-lived report: UPDATES stored updates (default 100,000 single-keystroke
// edits, some deletions), opened the way the server opens it (a Room: snapshot + remaining
// rows read and applied to its fresh Y.Doc, until `room.ready`), before and after compaction.
// Target: ≤ 100 ms after (p50). Also printed: the first client's sync step 2 (what a fresh
// page is sent) and the old path (store.load + store.pending, then Y.applyUpdate).
// One command:
//   DATABASE_URL=postgres://… npx tsx test/bench/collab-load.ts
import { reports, reportUpdates, resultRows, sql } from '@cellmark/db';
import * as Y from 'yjs';
import { Room } from '../../server/src/collab/room.ts';
import { createPostgresReportStore } from '../../server/src/domain/reports/store.ts';
import { createLogger } from '../../server/src/logger.ts';
import { benchDatabase, benchProject, intEnv, ms, percentiles } from './setup.ts';

const UPDATES = intEnv('UPDATES', 100_000);
const LOADS = intEnv('LOADS', 7);

const { database, drop } = await benchDatabase();
try {
  const { projectId } = await benchProject(database);
  const [report] = await database.db.insert(reports).values({ projectId, title: 'Long-lived', createdBy: 'bench' }).returning();
  const reportId = report!.id;

  // A few authors typing at their cursors keystroke by keystroke, with corrections, now
  // and then moving elsewhere in the text, syncing with each other every few keystrokes.
  const t0 = performance.now();
  const authors = [new Y.Doc(), new Y.Doc(), new Y.Doc()];
  const cursors = [0, 0, 0];
  const rows: { reportId: string; update: Uint8Array; userId: string }[] = [];
  authors.forEach((doc) => doc.on('update', (update: Uint8Array, origin: unknown) => origin !== 'sync' && rows.push({ reportId, update, userId: 'bench' })));
  let seed = 1;
  const random = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  for (let i = 0; rows.length < UPDATES; i++) {
    const a = Math.floor(i / 20) % authors.length;
    const doc = authors[a]!;
    const text = doc.getText('content');
    let at = Math.min(cursors[a]!, text.length);
    if (random() < 0.02) at = Math.floor(random() * (text.length + 1)); // click somewhere else
    if (random() < 0.1 && at > 0) {
      text.delete(at - 1, 1); // backspace
      at--;
    } else {
      text.insert(at, random() < 0.15 ? ' ' : String.fromCharCode(97 + Math.floor(random() * 26)));
      at++;
    }
    cursors[a] = at;
    if (i % 20 === 19) for (const other of authors) if (other !== doc) Y.applyUpdate(other, Y.encodeStateAsUpdate(doc, Y.encodeStateVector(other)), 'sync');
  }
  rows.length = UPDATES;
  for (let i = 0; i < rows.length; i += 5000) await database.db.insert(reportUpdates).values(rows.slice(i, i + 5000));
  const bytes = rows.reduce((n, r) => n + r.update.byteLength, 0);
  console.log(`seeded ${UPDATES} updates (${(bytes / 1024 / 1024).toFixed(1)} MiB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const store = createPostgresReportStore(database.db);
  const logger = createLogger('warn');
  // what the server gives a room, minus compaction (it would change what the next load reads)
  const roomOptions = { store, logger, compactUpdates: Infinity, compactBytes: Infinity, quietMs: 3_600_000, onQuiet: async () => {}, publish: () => {} };
  const emptyStateVector = Y.encodeStateVector(new Y.Doc());
  async function coldLoads() {
    const samples: number[] = [];
    const reads: number[] = [];
    const firstSync: number[] = [];
    const oldPath: number[] = [];
    let length = 0;
    const openRoom = async () => {
      const start = performance.now();
      const room = new Room(reportId, roomOptions);
      await room.ready;
      samples.push(performance.now() - start);
      const s0 = performance.now();
      room.syncStep2(emptyStateVector);
      firstSync.push(performance.now() - s0);
      length = room.doc.getText('content').length;
      room.destroy();
    };
    // what this bench timed before rooms used loadDoc (load + pending, then Y.applyUpdate
    // with no listener): for comparison only
    const previousPath = async () => {
      const o0 = performance.now();
      const [state] = await Promise.all([store.load(reportId), store.pending(reportId)]);
      const doc = new Y.Doc();
      Y.applyUpdate(doc, state!);
      oldPath.push(performance.now() - o0);
      doc.destroy();
    };
    for (let i = 0; i < LOADS; i++) {
      // alternating, so neither always runs right after the other's garbage
      if (i % 2) await previousPath();
      await openRoom();
      if (!(i % 2)) await previousPath();
      // the bare read (after compaction: the snapshot's bytes, merged with nothing)
      const r0 = performance.now();
      await store.load(reportId);
      reads.push(performance.now() - r0);
    }
    const spread = (xs: number[]) => `${ms(Math.min(...xs))}–${ms(Math.max(...xs))}`;
    return {
      ...percentiles(samples),
      spread: spread(samples),
      read: percentiles(reads).p50,
      firstSync: percentiles(firstSync).p50,
      oldPath: percentiles(oldPath).p50,
      length,
    };
  }

  const before = await coldLoads();
  const c0 = performance.now();
  const compacted = await store.compact(reportId);
  const compactMs = performance.now() - c0;
  const after = await coldLoads();
  if (after.length !== before.length) throw new Error(`document changed by compaction: ${before.length} → ${after.length} characters`);
  const stored = await store.pending(reportId);
  const [snapshot] = resultRows<{ bytes: number }>(
    await database.db.execute(sql`select octet_length(state) as bytes from report_snapshots where report_id = ${reportId}`),
  );
  console.log(`document: ${after.length} characters; snapshot ${(snapshot!.bytes / 1024).toFixed(0)} KiB`);
  console.log(
    `cold load before compaction: p50 ${ms(before.p50)}  range ${before.spread}  (${before.n} room opens; store.load of the rows, merged: ${ms(before.read)}; old path ${ms(before.oldPath)})`,
  );
  console.log(`compaction of ${compacted.merged} rows: ${ms(compactMs)}; rows left ${stored.updates}`);
  console.log(
    `cold load after compaction:  p50 ${ms(after.p50)}  range ${after.spread}  (${after.n} room opens; reading the snapshot ${ms(after.read)}, the rest is Y.applyUpdate; old path ${ms(after.oldPath)})`,
  );
  console.log(`first client's sync step 2 after the load (whole document): before compaction ${ms(before.firstSync)}, after ${ms(after.firstSync)}`);
  console.log(`speed-up: ${(before.p50 / after.p50).toFixed(1)}×   target ≤ 100 ms after (p50): ${after.p50 <= 100 ? 'met' : 'MISSED'}`);
} finally {
  await drop();
}
