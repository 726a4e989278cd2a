// The ReportStore contract: every implementation runs this suite (see store.test.ts beside it).
import { type Database, eq, reportQuarantine, reports, reportUpdates, users } from '@cellmark/db';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createWorkspace } from '../onboarding.ts';
import type { ReportStore } from './store.ts';

/** A user (and a second one), a team, a project and one report: what the store's rows hang off. */
export async function seedReport(database: Database) {
  const userId = `u-${Math.random().toString(36).slice(2)}`;
  await database.db.insert(users).values([
    { id: userId, name: 'Ada', email: `${userId}@example.test` },
    { id: `${userId}-b`, name: 'Bob', email: `${userId}-b@example.test` },
  ]);
  const { project } = await createWorkspace(database.db, { userId, via: 'session' }, { teamName: 'Lab', projectName: 'Vision' });
  const [report] = await database.db.insert(reports).values({ projectId: project.id, title: 'R', createdBy: userId }).returning();
  return { reportId: report!.id, userId, otherId: `${userId}-b` };
}

/**
 * Updates that decode as Yjs updates but throw inside Y.applyUpdate (found by mutating real
 * keystroke updates): a struct with an impossible info byte, and a delete of an empty range.
 * Checked here, so a Yjs that stops throwing on them fails loudly instead of passing tests.
 */
export function unappliableUpdates(): Uint8Array[] {
  const updates = ['010101000428017402616200', '000101010000'].map((hex) => new Uint8Array(Buffer.from(hex, 'hex')));
  for (const update of updates) {
    Y.decodeUpdate(update);
    let threw = false;
    try {
      Y.applyUpdate(new Y.Doc(), update);
    } catch {
      threw = true;
    }
    if (!threw) throw new Error(`fixture ${Buffer.from(update).toString('hex')} applies cleanly now: find another`);
  }
  return updates;
}

/** `open` gets a fresh migrated database per call; `store` builds the implementation on it. */
export function reportStoreContract(name: string, open: () => Promise<Database>, store: (database: Database) => ReportStore) {
  describe(`ReportStore contract: ${name}`, () => {
    async function setup() {
      const database = await open();
      return { database, s: store(database), ...(await seedReport(database)) };
    }

    /** A client editing its own doc; each call returns the update of one keystroke. */
    function editor() {
      const doc = new Y.Doc();
      const updates: Uint8Array[] = [];
      doc.on('update', (u: Uint8Array) => updates.push(u));
      return {
        doc,
        type(text: string) {
          doc.getText('t').insert(doc.getText('t').length, text);
          return updates.at(-1)!;
        },
      };
    }

    function textOf(state: Uint8Array | null) {
      const doc = new Y.Doc();
      if (state) Y.applyUpdate(doc, state);
      return doc.getText('t').toString();
    }

    it('loads null for a report with nothing stored, then every appended update in order', async () => {
      const { database, s, reportId, userId } = await setup();
      try {
        expect(await s.load(reportId)).toBeNull();
        const e = editor();
        const seqs: number[] = [];
        for (const ch of 'hello') seqs.push((await s.append(reportId, e.type(ch), userId)).seq);
        expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
        expect(textOf(await s.load(reportId))).toBe('hello');
        expect(await s.pending(reportId)).toMatchObject({ updates: 5 });
        const some = await s.updates(reportId, [seqs[3]!, seqs[1]!, 99_999_999]);
        expect(some.map((u) => u.seq)).toEqual([seqs[1], seqs[3]]);
        expect(some[0]).toMatchObject({ userId });
        // several at once: one transaction, seqs in the order given, after the earlier ones
        const many = await s.appendMany(reportId, [
          { update: e.type('!'), userId },
          { update: e.type('?'), userId: null },
        ]);
        expect(many.seqs).toHaveLength(2);
        expect(many.seqs[0]).toBeGreaterThan(seqs.at(-1)!);
        expect(many.seqs[1]).toBeGreaterThan(many.seqs[0]!);
        expect(textOf(await s.load(reportId))).toBe('hello!?');
        expect((await s.updates(reportId, many.seqs)).map((u) => u.userId)).toEqual([userId, null]);
      } finally {
        await database.close();
      }
    });

    it('compacts into a snapshot: same document, no rows left, compacted rows gone', async () => {
      const { database, s, reportId, userId, otherId } = await setup();
      try {
        const e = editor();
        const first = await s.append(reportId, e.type('a'), userId);
        for (const ch of 'bcdef') await s.append(reportId, e.type(ch), otherId);
        const before = await s.load(reportId);
        const result = await s.compact(reportId);
        expect(result.merged).toBe(6);
        expect(await s.pending(reportId)).toEqual({ updates: 0, bytes: 0 });
        expect(await s.updates(reportId, [first.seq])).toEqual([]);
        const after = await s.load(reportId);
        expect(textOf(after)).toBe('abcdef');
        expect(Y.encodeStateVectorFromUpdate(after!)).toEqual(Y.encodeStateVectorFromUpdate(before!));
        // a second compaction with nothing new changes nothing; later edits build on the snapshot
        expect((await s.compact(reportId)).merged).toBe(0);
        await s.append(reportId, e.type('g'), userId);
        expect(textOf(await s.load(reportId))).toBe('abcdefg');
        expect((await s.compact(reportId)).merged).toBe(1);
        expect(textOf(await s.load(reportId))).toBe('abcdefg');
      } finally {
        await database.close();
      }
    });

    it('loads into a document what load returns, with what is pending, in one read', async () => {
      const { database, s, reportId, userId } = await setup();
      try {
        const into = async () => s.loadDoc(reportId, 'store');
        const empty = await into();
        expect(empty).toMatchObject({ found: false, pending: { updates: 0, bytes: 0 }, state: null });
        expect(empty.doc.store.clients.size).toBe(0);

        const e = editor();
        for (const ch of 'abc') await s.append(reportId, e.type(ch), userId);
        const rows = await into();
        expect(rows).toMatchObject({ found: true, pending: await s.pending(reportId), state: null });
        expect(rows.doc.getText('t').toString()).toBe('abc');

        await s.compact(reportId);
        const snapshot = await into();
        expect(snapshot).toMatchObject({ found: true, pending: { updates: 0, bytes: 0 } });
        // the stored snapshot as it is: the whole document, ready to send
        expect(snapshot.state).toEqual(await s.load(reportId));
        expect(textOf(snapshot.state)).toBe('abc');
        expect(Y.encodeStateVector(snapshot.doc)).toEqual(Y.encodeStateVector(e.doc));

        await s.append(reportId, e.type('d'), userId);
        const both = await into();
        expect(both).toMatchObject({ found: true, pending: { updates: 1 }, state: null });
        expect(both.pending).toEqual(await s.pending(reportId));
        expect(both.doc.getText('t').toString()).toBe('abcd');
        expect(Y.encodeStateVector(both.doc)).toEqual(Y.encodeStateVector(e.doc));
      } finally {
        await database.close();
      }
    });

    it('never loses an update appended while compactions run', async () => {
      const { database, s, reportId, userId } = await setup();
      try {
        const writers = [editor(), editor(), editor()];
        const appends: Promise<unknown>[] = [];
        const compactions: Promise<unknown>[] = [];
        for (let i = 0; i < 60; i++) {
          const w = writers[i % 3]!;
          appends.push(s.append(reportId, w.type(String(i % 10)), userId));
          if (i % 7 === 0) compactions.push(s.compact(reportId));
        }
        await Promise.all([...appends, ...compactions]);
        const expected = new Y.Doc();
        writers.forEach((w) => Y.applyUpdate(expected, Y.encodeStateAsUpdate(w.doc)));
        const beforeCompact = await s.load(reportId);
        await s.compact(reportId);
        for (const state of [beforeCompact, await s.load(reportId)]) {
          const doc = new Y.Doc();
          Y.applyUpdate(doc, state!);
          expect(Y.encodeStateVector(doc)).toEqual(Y.encodeStateVector(expected));
          expect(doc.getText('t').toString()).toBe(expected.getText('t').toString());
        }
      } finally {
        await database.close();
      }
    });

    it('moves a row that does not apply to report_quarantine, with the reason, and loads the rest', async () => {
      const { database, s, reportId, userId } = await setup();
      try {
        const [bad, alsoBad] = unappliableUpdates();
        const e = editor();
        await s.append(reportId, e.type('ab'), userId);
        const { seq } = await s.append(reportId, bad!, userId);
        await s.append(reportId, e.type('cd'), userId);
        const loaded = await s.loadDoc(reportId);
        expect(loaded.doc.getText('t').toString()).toBe('abcd');
        expect(loaded.quarantined).toEqual([{ seq, reason: expect.stringMatching(/\w/) }]);
        expect(loaded.pending).toMatchObject({ updates: 2 });
        const kept = await database.db.select().from(reportQuarantine).where(eq(reportQuarantine.reportId, reportId));
        expect(kept).toEqual([expect.objectContaining({ seq, userId, reason: loaded.quarantined[0]!.reason, update: expect.anything() })]);
        expect(new Uint8Array(kept[0]!.update)).toEqual(bad);
        // moved, not copied: the log no longer has it, and the next load has nothing to move
        expect((await database.db.select().from(reportUpdates).where(eq(reportUpdates.reportId, reportId))).map((r) => r.seq)).not.toContain(seq);
        expect((await s.loadDoc(reportId)).quarantined).toEqual([]);

        // load and compaction find one too, and keep everything else
        const second = await s.append(reportId, alsoBad!, userId);
        await s.append(reportId, e.type('e'), userId);
        expect(textOf(await s.load(reportId))).toBe('abcde');
        const third = await s.append(reportId, bad!, userId);
        await s.append(reportId, e.type('f'), userId);
        expect(await s.compact(reportId)).toMatchObject({ merged: 4 }); // ab, cd, e, f
        expect(textOf(await s.load(reportId))).toBe('abcdef');
        const seqs = (await database.db.select().from(reportQuarantine).where(eq(reportQuarantine.reportId, reportId))).map((r) => r.seq);
        expect(seqs.sort((a, b) => a - b)).toEqual([seq, second.seq, third.seq]);
      } finally {
        await database.close();
      }
    });

    it('says the highest seq stored, in the log or folded into the snapshot: it moves with every store', async () => {
      const { database, s, reportId, userId } = await setup();
      try {
        expect(await s.storedSeq(reportId)).toBe(0);
        const e = editor();
        await s.append(reportId, e.type('a'), userId);
        const { seq } = await s.append(reportId, e.type('b'), userId);
        expect(await s.storedSeq(reportId)).toBe(seq);
        await s.compact(reportId);
        expect(await s.pending(reportId)).toEqual({ updates: 0, bytes: 0 });
        expect(await s.storedSeq(reportId)).toBe(seq);
        const next = await s.append(reportId, e.type('c'), userId);
        expect(next.seq).toBeGreaterThan(seq);
        expect(await s.storedSeq(reportId)).toBe(next.seq);
      } finally {
        await database.close();
      }
    });

    it('keeps reports apart', async () => {
      const { database, s, reportId, userId } = await setup();
      try {
        const [other] = await database.db
          .insert(reports)
          .values({ projectId: (await database.db.select().from(reports))[0]!.projectId, title: 'Other', createdBy: userId })
          .returning();
        const mine = await s.append(reportId, editor().type('mine'), userId);
        const theirs = await s.append(other!.id, editor().type('theirs'), userId);
        await s.compact(reportId);
        expect(textOf(await s.load(reportId))).toBe('mine');
        expect(textOf(await s.load(other!.id))).toBe('theirs');
        expect(await s.pending(other!.id)).toMatchObject({ updates: 1 });
        expect([await s.storedSeq(reportId), await s.storedSeq(other!.id)]).toEqual([mine.seq, theirs.seq]);
      } finally {
        await database.close();
      }
    });
  });
}
