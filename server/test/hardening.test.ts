// What an outside attack test found on the ingest path and around it: bad input is a 400
// naming the field (never a 500), internal errors say nothing of their cause, /metrics labels
// stay bounded, and a rejected batch leaves no blob behind.
import { readdir } from 'node:fs/promises';
import http from 'node:http';
import { count, eq, runCells, sql } from '@cellmark/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Of } from '../src/blobs/store.ts';
import { post, signUp, startTestServer, type TestServer, userWithProject } from './helpers.ts';

let server: TestServer;
let alice: Awaited<ReturnType<typeof userWithProject>>;
let runId: string;

beforeAll(async () => {
  server = await startTestServer();
  alice = await userWithProject(server, 'hard');
  ({ runId } = await alice.ingest.ingest.startRun.mutate({
    project: alice.projectPath,
    clientKey: 'hardening-0001',
    notebookPath: 'h.ipynb',
    startedAt: new Date().toISOString(),
  }));
});
afterAll(() => server?.dispose());

const at = new Date(Date.UTC(2026, 10, 26, 10)).toISOString();
const cell = (key: string, extra: Record<string, unknown> = {}) => ({ executionKey: key, source: 'x', status: 'ok', startedAt: at, endedAt: at, ...extra });
const pngOutput = (base64: string, mime = 'image/png') => ({ output_type: 'display_data', data: { [mime]: base64 }, metadata: {} });

async function cellCount() {
  const [row] = await server.database.db.select({ n: count() }).from(runCells).where(eq(runCells.runId, runId));
  return row!.n;
}

/** Every file under the server's blob directory. */
async function blobFiles(): Promise<string[]> {
  return (await readdir(server.blobDir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => e.name)
    .sort();
}

describe('U+0000', () => {
  it('is refused in fields a person typed, naming the field', async () => {
    const report = await alice.api.reports.create.mutate({ projectId: alice.project.id, title: 'ok' });
    const res = await fetch(`${server.url}/api/trpc/reports.rename`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: alice.cookie, origin: server.url },
      body: JSON.stringify({ reportId: report.id, title: 'a\u0000b' }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe('invalid input: title: must not contain U+0000 (NUL)');

    const start = await post(
      server.url,
      'ingest.startRun',
      JSON.stringify({ project: alice.projectPath, clientKey: 'nul-00001', notebookPath: 'a\u0000.ipynb', startedAt: at }),
      alice.token,
    );
    expect(start.status).toBe(400);
    expect(start.body.error!.message).toMatch(/notebookPath: must not contain U\+0000/);
    const tags = await post(server.url, 'ingest.updateRun', JSON.stringify({ runId, tags: ['ok', 'b\u0000'] }), alice.token);
    expect(tags.status).toBe(400);
    expect(tags.body.error!.message).toMatch(/tags\.1: must not contain U\+0000/);
    const metric = await post(server.url, 'ingest.metrics', JSON.stringify({ runId, points: [{ key: 'l\u0000', step: 0, value: 1, time: at }] }), alice.token);
    expect(metric.status).toBe(400);
    expect(metric.body.error!.message).toMatch(/points\.0\.key: must not contain U\+0000/);
  });

  it('is kept as U+FFFD in captured content (environment, kernel hello)', async () => {
    const env = await post(
      server.url,
      'ingest.environment',
      JSON.stringify({ runId, environment: { git: { diff: 'bin\u0000ary' }, 'k\u0000': 1 } }),
      alice.token,
    );
    expect(env.status).toBe(200);
    const hello = await post(server.url, 'ingest.kernelHello', JSON.stringify({ runId, language: 'py\u0000thon' }), alice.token);
    expect(hello.status).toBe(200);
    const got = await alice.api.runs.get.query({ runId });
    expect(got.run.environment).toMatchObject({ git: { diff: 'bin\uFFFDary' }, 'k\uFFFD': 1 });
  });
});

describe('batched calls', () => {
  it('still work (their body is not handed over pre-parsed), and are checked the same way', async () => {
    const res = await fetch(`${server.url}/api/trpc/ingest.heartbeat,ingest.updateRun?batch=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${alice.token}` },
      body: JSON.stringify({ 0: { runId }, 1: { runId, notes: 'a\u0000b' } }),
    });
    const [heartbeat, update] = (await res.json()) as [{ result?: unknown }, { error?: { message: string } }];
    expect(heartbeat.result).toBeDefined();
    expect(update.error!.message).toBe('invalid input: notes: must not contain U+0000 (NUL)');
  });
});

describe('bad numbers, times and shapes are 400s', () => {
  it('JSON nested 5,000 deep', async () => {
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    const res = await post(
      server.url,
      'ingest.cells',
      `{"runId":"${runId}","cells":[{"executionKey":"d","source":"","status":"ok","startedAt":"${at}","endedAt":"${at}","config":{"x":${deep}}}]}`,
      alice.token,
    );
    expect(res.status).toBe(400);
    expect(res.body.error!.message).toMatch(/nested more than 100 levels/);
    const query = await fetch(`${server.url}/api/trpc/runs.get?input=${encodeURIComponent('['.repeat(1000) + ']'.repeat(1000))}`, {
      headers: { cookie: alice.cookie },
    });
    expect(query.status).toBe(400);
  });

  it('metric times outside 1970–2199 name the point', async () => {
    for (const time of ['1500-01-01T00:00:00Z', '2300-01-01T00:00:00Z']) {
      const res = await post(
        server.url,
        'ingest.metrics',
        JSON.stringify({
          runId,
          points: [
            { key: 'a', step: 0, value: 1, time: at },
            { key: 'a', step: 1, value: 1, time },
          ],
        }),
        alice.token,
      );
      expect(res.status, time).toBe(400);
      expect(res.body.error!.message).toMatch(/^points\.1\.time: must be from 1970 to 2199/);
    }
  });

  it('a metric key that starts with U+FEFF is stored (PGlite reads it back without the BOM)', async () => {
    const res = await post(server.url, 'ingest.metrics', JSON.stringify({ runId, points: [{ key: '\ufeffloss', step: 0, value: 1, time: at }] }), alice.token);
    expect(res.status).toBe(200);
  });

  it('a config value of null is stored as JSON null (found by the fuzzer: a 500)', async () => {
    const res = await post(
      server.url,
      'ingest.cells',
      JSON.stringify({ runId, origin: 'kernel', cells: [cell('null-config', { config: { ' ': null, lr: 0.1 } })] }),
      alice.token,
    );
    expect(res.status).toBe(200);
    const got = await alice.api.runs.get.query({ runId });
    expect(got.run.config).toMatchObject({ ' ': null, lr: 0.1 });
  });

  it('execution counts and positions beyond an integer column', async () => {
    const res = await post(server.url, 'ingest.cells', JSON.stringify({ runId, cells: [cell('big', { executionCount: 2 ** 40 })] }), alice.token);
    expect(res.status).toBe(400);
    expect(res.body.error!.message).toMatch(/cells\.0\.executionCount/);
  });
});

describe('outputs', () => {
  it('a MIME key with CR/LF is refused naming the output, and nothing is stored', async () => {
    const before = await blobFiles();
    const cellsBefore = await cellCount();
    const res = await post(
      server.url,
      'ingest.cells',
      JSON.stringify({ runId, cells: [cell('crlf', { outputs: [pngOutput('iVBORw0KGgo=', 'image/png\r\nx-evil: 1')] })] }),
      alice.token,
    );
    expect(res.status).toBe(400);
    expect(res.body.error!.message).toMatch(/^cells\.0\.outputs\.0\.data: MIME type "image\/png\\r\\nx-evil: 1" must be/);
    expect(await cellCount()).toBe(cellsBefore);
    expect(await blobFiles()).toEqual(before);
  });

  it('a batch that fails after its blobs were written takes back the ones nothing refers to', async () => {
    // a blob another run already holds must survive
    const other = await alice.ingest.ingest.startRun.mutate({
      project: alice.projectPath,
      clientKey: 'hardening-0002',
      notebookPath: 'o.ipynb',
      startedAt: at,
    });
    const sharedBytes = Buffer.from('shared image bytes');
    const shared = sharedBytes.toString('base64');
    await alice.ingest.ingest.cells.mutate({ runId: other.runId, cells: [cell('keep', { outputs: [pngOutput(shared)] })] as never });
    const before = await blobFiles();
    expect(before).toContain(sha256Of(sharedBytes));

    // a real database failure inside the batch's transaction, after every check passed
    await server.database.db.execute(
      sql.raw(`
      create function cellmark_test_fail() returns trigger language plpgsql as $$
      begin if new.source = 'fail here' then raise exception 'injected failure'; end if; return new; end $$`),
    );
    await server.database.db.execute(
      sql.raw('create trigger cellmark_test_fail before insert on run_cells for each row execute function cellmark_test_fail()'),
    );
    try {
      const fresh = Buffer.from('bytes only this batch had').toString('base64');
      const res = await post(
        server.url,
        'ingest.cells',
        JSON.stringify({ runId, cells: [cell('orphan', { source: 'fail here', outputs: [pngOutput(fresh), pngOutput(shared)] })] }),
        alice.token,
      );
      expect(res.status).toBe(500);
      expect(await blobFiles()).toEqual(before);
    } finally {
      await server.database.db.execute(sql.raw('drop trigger cellmark_test_fail on run_cells'));
      await server.database.db.execute(sql.raw('drop function cellmark_test_fail()'));
    }
  });
});

describe('/metrics', () => {
  it('labels tRPC calls by known procedure, so made-up paths add no series', async () => {
    const size = async () => (await (await fetch(`${server.url}/metrics`)).text()).length;
    await fetch(`${server.url}/api/trpc/made.up.0`);
    const before = await size();
    for (let i = 1; i <= 200; i++) await fetch(`${server.url}/api/trpc/made.up.${i}`);
    await new Promise<void>((resolve, reject) =>
      http
        .request(`${server.url}/api/trpc/made.up.x`, { method: 'PURGE' }, (res) => res.resume().on('end', resolve))
        .on('error', reject)
        .end(),
    );
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).not.toMatch(/made\.up/);
    expect(text).toMatch(/route="trpc:unknown"/);
    expect(text).not.toMatch(/method="PURGE"/);
    expect(text.length - before).toBeLessThan(5000);
  });

  it('asks for CELLMARK_METRICS_TOKEN when it is set', async () => {
    const guarded = await startTestServer({ CELLMARK_METRICS_TOKEN: 'metrics-secret-123' });
    try {
      expect((await fetch(`${guarded.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${guarded.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      const ok = await fetch(`${guarded.url}/metrics`, { headers: { authorization: 'Bearer metrics-secret-123' } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toMatch(/cellmark_http_request_duration_seconds/);
    } finally {
      await guarded.dispose();
    }
  });
});

describe('a database outage', () => {
  it('answers 503 with Retry-After, telling callers nothing of the query or its parameters', async () => {
    const down = await startTestServer();
    const bob = await userWithProject(down, 'outage');
    const reader = await signUp(down, 'reader');
    await down.database.close();
    try {
      const res = await fetch(`${down.url}/api/trpc/ingest.startRun`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${bob.token}` },
        body: JSON.stringify({ project: bob.projectPath, clientKey: 'outage-0001', notebookPath: 'a.ipynb', startedAt: at }),
      });
      const text = await res.text();
      const requestId = res.headers.get('x-request-id');
      // a retryable answer: clients keep the record and try again (the soak's fault run saw 500s)
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(JSON.parse(text).error.message).toBe(`storage unavailable, try again shortly (request id ${requestId})`);
      expect(text).not.toMatch(/select|api_tokens|token_hash/i);

      const health = await fetch(`${down.url}/healthz`);
      expect(health.status).toBe(503);
      expect(await health.json()).toEqual({ status: 'unavailable', database: down.database.kind, error: 'database unavailable' });

      const blob = await fetch(`${down.url}/api/blobs/${'0'.repeat(64)}?run=${runId}`, { headers: { cookie: reader.cookie } });
      const blobText = await blob.text();
      expect(blob.status).toBe(503);
      expect(blob.headers.get('retry-after')).toBe('5');
      expect(JSON.parse(blobText).error.message).toBe(`storage unavailable, try again shortly (request id ${blob.headers.get('x-request-id')})`);
    } finally {
      await down.stopHttp();
    }
  });
});
