// copyOutBinary: binary COPY on postgres.js (null on PGlite, where callers query instead).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { copyOutBinary, type Database, resultRows, sql } from '../src/index.ts';
import { createTestDb } from '../src/testing.ts';

let database: Database;
beforeAll(async () => {
  database = await createTestDb();
});
afterAll(() => database?.close());

it('returns rows of raw fields, NULL as null; pooled connections stay usable after many small COPYs', async () => {
  const select = `select g::text, case when g % 2 = 0 then int8send(g::bigint) end from generate_series(1, 3) g`;
  const first = await copyOutBinary(database.db, select);
  if (database.kind === 'pglite') return void expect(first).toBeNull();
  expect(first!.map(([text, bytes]) => [text!.toString('utf8'), bytes ? bytes.readBigInt64BE() : null])).toEqual([
    ['1', null],
    ['2', 2n],
    ['3', null],
  ]);
  // a COPY that arrives in one socket read used to leave its connection paused: more COPYs
  // than the pool has connections, each followed by ordinary queries, must all finish
  const small = `select g, decode(repeat('ab', 12000), 'hex') from generate_series(1, 2) g`; // 24 KB: over the stream's buffer, one socket read
  for (let i = 0; i < 12; i++) {
    expect((await copyOutBinary(database.db, small))!.map((row) => row[1]!.length)).toEqual([12000, 12000]);
    const rows = await Promise.all(Array.from({ length: 3 }, () => database.db.execute(sql`select 1 as one`)));
    expect(rows.map((r) => resultRows<{ one: number }>(r)[0]!.one)).toEqual([1, 1, 1]);
  }
}, 20_000);
