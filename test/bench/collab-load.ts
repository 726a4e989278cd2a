// Cold load of a long-lived report: UPDATES stored updates (default 100,000 single-keystroke
// edits, some deletions), loaded the way a room loads them (snapshot + remaining rows,
// merged, applied to a fresh Y.Doc), before and after compaction. Target: ≤ 100 ms after.
// One command:
//   DATABASE_URL=postgres://… npx tsx test/bench/collab-load.ts
import { reports, reportUpdates, resultRows, sql } from '@cellmark/db';
import * as Y from 'yjs';
import { createPostgresReportStore } from '../../server/src/collab/store.ts';
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
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
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
  async function coldLoads() {
    const samples: number[] = [];
    const reads: number[] = [];
    let length = 0;
    for (let i = 0; i < LOADS; i++) {
      const start = performance.now();
      const [state] = await Promise.all([store.load(reportId), store.pending(reportId)]);
      reads.push(performance.now() - start);
      const doc = new Y.Doc();
      Y.applyUpdate(doc, state!);
      samples.push(performance.now() - start);
      length = doc.getText('content').length;
      doc.destroy();
    }
    return { ...percentiles(samples), read: percentiles(reads).p50, length };
  }

  const before = await coldLoads();
  const c0 = performance.now();
  const compacted = await store.compact(reportId);
  const compactMs = performance.now() - c0;
  const after = await coldLoads();
  if (after.length !== before.length) throw new Error(`document changed by compaction: ${before.length} → ${after.length} characters`);
  const stored = await store.pending(reportId);
  const [snapshot] = resultRows<{ bytes: number }>(await database.db.execute(sql`select octet_length(state) as bytes from report_snapshots where report_id = ${reportId}`));
  console.log(`document: ${after.length} characters; snapshot ${(snapshot!.bytes / 1024).toFixed(0)} KiB`);
  console.log(`cold load before compaction: p50 ${ms(before.p50)}  max ${ms(before.p99)}  (${before.n} loads; reading and merging the rows ${ms(before.read)})`);
  console.log(`compaction of ${compacted.merged} rows: ${ms(compactMs)}; rows left ${stored.updates}`);
  console.log(`cold load after compaction:  p50 ${ms(after.p50)}  max ${ms(after.p99)}  (${after.n} loads; reading the snapshot ${ms(after.read)}, the rest is Y.applyUpdate)`);
  console.log(`speed-up: ${(before.p50 / after.p50).toFixed(1)}×   target ≤ 100 ms after (p50): ${after.p50 <= 100 ? 'met' : 'MISSED'}`);
} finally {
  await drop();
}
