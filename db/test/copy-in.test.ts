// copyIntoTable: binary COPY FROM STDIN on postgres.js (false on PGlite, where callers insert).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BinaryCopyEncoder, canCopyIn, copyIntoTable, type Database, parseBinaryCopy, resultRows, sql, uuidBytes } from '../src/index.ts';
import { createTestDb } from '../src/testing.ts';

let database: Database;
beforeAll(async () => {
  database = await createTestDb();
  await database.db.execute(sql`create table copy_in_probe (id uuid, n int4, s int2, big int8, v float8, t timestamptz, primary key (id, big))`);
});
afterAll(() => database?.close());

const ID = '0f8e6a7c-1b2d-4c3e-9f40-5a6b7c8d9e0f';
const COLUMNS = ['id', 'n', 's', 'big', 'v', 't'];
const rows: [number, number, number, number | null, number][] = [
  [1, -2, 0, 0.5, Date.parse('2026-11-27T01:02:03.456Z')],
  [-7, 32767, -(2 ** 40) - 3, Number.NaN, Date.parse('1999-12-31T23:59:59.999Z')],
  [2 ** 31 - 1, -32768, Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY, 0],
  [0, 1, 2, Number.NEGATIVE_INFINITY, Date.parse('2000-01-01T00:00:00Z')],
  [3, 4, 5, null, -86_400_000],
];

function encode(from: typeof rows) {
  const out = new BinaryCopyEncoder(8); // tiny on purpose: the buffer must grow
  for (const [n, s, big, v, t] of from) out.row(6).uuid(uuidBytes(ID)).int4(n).int2(s).int8(big).float8OrNull(v).timestamptz(t);
  return out.finish();
}

it('writes every type exactly (NaN, ±Infinity, NULL, negative and 53-bit integers, times before 2000)', async () => {
  const { db } = database;
  const copied = await db.transaction((tx) => copyIntoTable(tx, 'copy_in_probe', COLUMNS, encode(rows)));
  if (database.kind === 'pglite') {
    expect(canCopyIn(db)).toBe(false);
    return void expect(copied).toBe(false);
  }
  expect(copied).toBe(true);
  const back = resultRows<{ n: number; s: number; big: string; v: number | null; ms: string; id: string }>(
    await db.execute(sql`select id::text, n, s, big::text, v, (extract(epoch from t) * 1000)::bigint::text as ms from copy_in_probe order by big`),
  );
  const expected = [...rows].sort((a, b) => a[2] - b[2]);
  expect(back.map((r) => [r.n, r.s, Number(r.big), r.v === null ? null : Number(r.v), Number(r.ms)])).toEqual(expected);
  expect(new Set(back.map((r) => r.id))).toEqual(new Set([ID]));
});

it("throws the server's error for a failed COPY (postgres.js drops it) and leaves nothing behind nor a stuck connection", async () => {
  const { db } = database;
  if (database.kind === 'pglite') return;
  const before = resultRows<{ n: string }>(await db.execute(sql`select count(*)::text as n from copy_in_probe`))[0]!.n;
  // the same primary keys again: a unique violation the server reports after the data ended
  const attempt = db.transaction((tx) => copyIntoTable(tx, 'copy_in_probe', COLUMNS, encode(rows)));
  await expect(attempt).rejects.toMatchObject({ code: '23505' });
  expect(resultRows<{ n: string }>(await db.execute(sql`select count(*)::text as n from copy_in_probe`))[0]!.n).toBe(before);
  // every pooled connection still answers, with COPYs and queries interleaved
  for (let i = 0; i < 12; i++) {
    const id = crypto.randomUUID();
    const body = new BinaryCopyEncoder().row(6).uuid(uuidBytes(id)).int4(i).int2(0).int8(i).float8(i).timestamptz(0).finish();
    await db.transaction((tx) => copyIntoTable(tx, 'copy_in_probe', COLUMNS, body));
    const [row] = resultRows<{ n: number }>(await db.execute(sql`select n from copy_in_probe where id = ${id}::uuid`));
    expect(row?.n).toBe(i);
  }
}, 20_000);

it('the encoder refuses integers it cannot write exactly, and its output parses back', () => {
  expect(() => new BinaryCopyEncoder().int8(2 ** 53)).toThrow(/safe integer/);
  expect(() => uuidBytes('not-a-uuid')).toThrow(/not a uuid/);
  const parsed = parseBinaryCopy(encode(rows.slice(0, 2)));
  expect(parsed).toHaveLength(2);
  expect(parsed[1]![3]!.readBigInt64BE()).toBe(BigInt(-(2 ** 40) - 3));
  expect(parsed[1]![4]!.readDoubleBE()).toBeNaN();
});
