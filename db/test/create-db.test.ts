import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDb, DatabaseUnavailableError, resultRows, sql, teams } from '../src/index.ts';
import { createTestDb } from '../src/testing.ts';

describe('createDb', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('keeps data in its PGlite data directory across reopen, migrating idempotently', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cellmark-db-'));
    dirs.push(dir);
    const first = await createDb({ dataDir: dir });
    await first.db.insert(teams).values({ slug: 'acme', name: 'Acme' });
    await first.close();

    const second = await createDb({ dataDir: dir });
    const rows = await second.db.select().from(teams);
    expect(rows.map((r) => r.slug)).toEqual(['acme']);
    await second.close();
  }, 30_000);

  it('refuses a data directory another live process holds', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cellmark-db-'));
    dirs.push(dir);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path.join(dir, 'cellmark.pid'), String(process.ppid));
    await expect(createDb({ dataDir: dir })).rejects.toThrow(/in use by another Cellmark process/);
  });

  it('reports an unreachable Postgres in one line', async () => {
    const error = await createDb({ url: 'postgres://nobody:x@127.0.0.1:1/nothing' }).catch((e) => e);
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error.message).toMatch(/^cannot connect to Postgres at 127\.0\.0\.1:1\/nothing: connect ECONNREFUSED/);
    expect(error.message).not.toContain('\n');
  });

  it('rejects a DATABASE_URL that is not a URL', async () => {
    await expect(createDb({ url: 'not a url' })).rejects.toThrow(/DATABASE_URL is not a valid URL/);
  });
});

describe('createTestDb (PGlite, or Postgres when DATABASE_URL is set)', () => {
  it('applies every committed migration', async () => {
    const { db, close } = await createTestDb();
    const result = await db.execute(sql`select table_name from information_schema.tables where table_schema = 'public' order by 1`);
    const rows = resultRows<{ table_name: string }>(result);
    expect(rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(['users', 'sessions', 'teams', 'memberships', 'projects', 'api_tokens', 'runs', 'run_cells', 'reports', 'report_updates']),
    );
    await close();
  }, 30_000);
});
