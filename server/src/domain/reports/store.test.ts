// The report store contract on both databases Cellmark runs on: embedded PGlite always, and
// the Postgres in DATABASE_URL when there is one (CI runs both).
import { createDb, reportUpdates } from '@cellmark/db';
import { createTestDb } from '@cellmark/db/testing';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { reportStoreContract, seedReport } from './store.contract.ts';
import { createPostgresReportStore } from './store.ts';

reportStoreContract(
  'PGlite',
  () => createDb({ memory: true }),
  (database) => createPostgresReportStore(database.db),
);

const postgresUrl = process.env.DATABASE_URL;
if (postgresUrl) {
  reportStoreContract('Postgres', createTestDb, (database) => createPostgresReportStore(database.db));

  describe('announcing appends on Postgres', () => {
    it('sends "<origin> <reportId> <seqs>" from the appending statement, "*" for a list too long', async () => {
      const database = await createTestDb();
      try {
        const { reportId, userId } = await seedReport(database);
        const store = createPostgresReportStore(database.db, { announce: { channel: 'test_report_updates', origin: 'me' } });
        const heard: string[] = [];
        const client = (database.db as unknown as { $client: import('postgres').Sql }).$client;
        const { unlisten } = await client.listen('test_report_updates', (payload) => heard.push(payload));
        const doc = new Y.Doc();
        const updates: Uint8Array[] = [];
        doc.on('update', (u: Uint8Array) => updates.push(u));
        for (let i = 0; i < 2002; i++) doc.getText('t').insert(i, 'x');
        const { seqs } = await store.appendMany(reportId, [
          { update: updates[0]!, userId },
          { update: updates[1]!, userId: null },
        ]);
        await store.appendMany(
          reportId,
          updates.slice(2).map((update) => ({ update, userId })),
        );
        for (let i = 0; heard.length < 2 && i < 100; i++) await new Promise((r) => setTimeout(r, 50));
        expect(heard).toEqual([`me ${reportId} ${seqs.join(',')}`, `me ${reportId} *`]);
        await unlisten();
        expect((await store.pending(reportId)).updates).toBe(2002);
      } finally {
        await database.close();
      }
    });
  });

  describe('compaction on Postgres', () => {
    it('keeps a row whose transaction took a lower seq but committed after the compaction read', async () => {
      const database = await createTestDb();
      try {
        const { reportId, userId } = await seedReport(database);
        const store = createPostgresReportStore(database.db);
        const doc = new Y.Doc();
        const updates: Uint8Array[] = [];
        doc.on('update', (u: Uint8Array) => updates.push(u));
        doc.getText('t').insert(0, 'late');
        doc.getText('t').insert(4, ' early');
        let release!: () => void;
        const held = new Promise<void>((r) => (release = r));
        // takes its seq now, commits only after the compaction below has finished
        let inserted!: () => void;
        const insertedP = new Promise<void>((r) => (inserted = r));
        const late = database.db.transaction(async (tx) => {
          await tx.insert(reportUpdates).values({ reportId, update: updates[0]!, userId });
          inserted();
          await held;
        });
        await insertedP;
        await store.append(reportId, updates[1]!, userId);
        const result = await store.compact(reportId);
        expect(result.merged).toBe(1);
        release();
        await late;
        const state = await store.load(reportId);
        const loaded = new Y.Doc();
        Y.applyUpdate(loaded, state!);
        expect(loaded.getText('t').toString()).toBe('late early');
        expect((await store.compact(reportId)).merged).toBe(1);
        expect(await store.pending(reportId)).toEqual({ updates: 0, bytes: 0 });
      } finally {
        await database.close();
      }
    });
  });
}
