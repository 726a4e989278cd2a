// The extension's ingest path over real HTTP: auth failures, bad input, idempotency, order.
import { count, eq, runCells } from '@cellmark/db';
import type { inferRouterInputs } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppRouter } from '../src/trpc/router.ts';
import { errorOf, post, startTestServer, type TestServer, userWithProject } from './helpers.ts';

type CellIn = inferRouterInputs<AppRouter>['ingest']['cells']['cells'][number];

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ CELLMARK_MAX_SOURCE_BYTES: '1000', CELLMARK_MAX_BODY_BYTES: '200000' });
});
afterAll(() => server?.dispose());

const at = (s: number) => new Date(Date.UTC(2026, 10, 26, 10, 0, s)).toISOString();

function cell(n: number, overrides: Record<string, unknown> = {}): CellIn {
  return {
    executionKey: `msg-${n}`,
    cellId: `cell-${n}`,
    executionCount: n,
    source: `x = ${n}`,
    outputs: [{ output_type: 'stream', name: 'stdout', text: `${n}\n` }],
    status: 'ok' as const,
    error: null,
    startedAt: at(n * 2),
    endedAt: at(n * 2 + 1),
    ...overrides,
  } as CellIn;
}

async function cellCount(runId: string) {
  const [row] = await server.database.db.select({ n: count() }).from(runCells).where(eq(runCells.runId, runId));
  return row!.n;
}

describe('ingest', () => {
  it('records a run and its cells in the order they ran, idempotently', async () => {
    const alice = await userWithProject(server, 'alice');
    const start = { project: alice.projectPath, clientKey: 'kernel-session-1', notebookPath: 'train.ipynb', kernelName: 'python3', startedAt: at(0) };
    const run = await alice.ingest.ingest.startRun.mutate(start);
    expect(run.url).toBe(`/t/${alice.team.slug}/${alice.project.slug}/runs/${run.runId}`);
    expect(run.name).toMatch(/^[a-z]+-[a-z]+-\d+$/);
    // a retried start returns the same run
    expect((await alice.ingest.ingest.startRun.mutate(start)).runId).toBe(run.runId);

    const error = { ename: 'ZeroDivisionError', evalue: 'division by zero', traceback: ['Traceback', 'ZeroDivisionError: division by zero'] };
    const batch = [cell(2, { status: 'error', error, outputs: [{ output_type: 'error', ...error }] }), cell(1), cell(3, { cellId: 'cell-1', source: 'x = 1' })];
    await alice.ingest.ingest.cells.mutate({ runId: run.runId, cells: batch });
    await alice.ingest.ingest.cells.mutate({ runId: run.runId, cells: batch }); // retry
    expect(await cellCount(run.runId)).toBe(3);

    const got = await alice.api.runs.get.query({ runId: run.runId });
    expect(got.cells.map((c) => [c.executionCount, c.cellId, c.status])).toEqual([
      [1, 'cell-1', 'ok'],
      [2, 'cell-2', 'error'],
      [3, 'cell-1', 'ok'],
    ]);
    expect(got.cells[1]!.error).toEqual(error);
    expect(got.cells[0]!.outputs).toEqual([{ output_type: 'stream', name: 'stdout', text: '1\n' }]);

    await alice.ingest.ingest.endRun.mutate({ runId: run.runId, status: 'finished', endedAt: at(30) });
    const {
      runs: [list],
    } = await alice.api.runs.list.query({ projectId: alice.project.id });
    expect(list).toMatchObject({ id: run.runId, status: 'finished', cellCount: 3, notebookPath: 'train.ipynb' });
  });

  it('answers 401 naming the problem for missing, unknown and revoked tokens', async () => {
    const bob = await userWithProject(server, 'bob');
    const body = JSON.stringify({ project: bob.projectPath, clientKey: 'k-00000001', notebookPath: 'a.ipynb', startedAt: at(0) });

    const missing = await post(server.url, 'ingest.startRun', body);
    expect(missing.status).toBe(401);
    expect(missing.body.error!.message).toMatch(/missing API token/);

    const unknown = await post(server.url, 'ingest.startRun', body, 'cm_not-a-real-token');
    expect(unknown.status).toBe(401);
    expect(unknown.body.error!.message).toMatch(/not known/);

    const tokens = await bob.api.tokens.list.query();
    await bob.api.tokens.revoke.mutate({ tokenId: tokens[0]!.id });
    const revoked = await post(server.url, 'ingest.startRun', body, bob.token);
    expect(revoked.status).toBe(401);
    expect(revoked.body.error!.message).toMatch(/revoked/);
  });

  it("answers 403 for another team's project and for viewers", async () => {
    const carol = await userWithProject(server, 'carol');
    const dave = await userWithProject(server, 'dave');
    const start = { project: dave.projectPath, clientKey: 'k-00000002', notebookPath: 'a.ipynb', startedAt: at(0) };
    const other = await carol.ingest.ingest.startRun.mutate(start).catch(errorOf);
    expect(other).toMatchObject({ status: 403, code: 'FORBIDDEN' });

    await dave.api.teams.addMember.mutate({ teamId: dave.team.id, email: carol.email, role: 'viewer' });
    const viewer = await carol.ingest.ingest.startRun.mutate(start).catch(errorOf);
    expect(viewer).toMatchObject({ status: 403 });
    expect((viewer as { message: string }).message).toMatch(/viewer/);

    // and cells cannot be pushed into someone else's run
    const run = await dave.ingest.ingest.startRun.mutate(start);
    const push = await carol.ingest.ingest.cells.mutate({ runId: run.runId, cells: [cell(1)] }).catch(errorOf);
    expect(push).toMatchObject({ status: 403 });
    expect(await cellCount(run.runId)).toBe(0);
  });

  describe('malformed payloads: 400 naming the field, nothing written', () => {
    let eve: Awaited<ReturnType<typeof userWithProject>>;
    let runId: string;
    beforeAll(async () => {
      eve = await userWithProject(server, 'eve');
      ({ runId } = await eve.ingest.ingest.startRun.mutate({ project: eve.projectPath, clientKey: 'k-eve-0001', notebookPath: 'e.ipynb', startedAt: at(0) }));
    });

    it('wrong types', async () => {
      const res = await post(
        server.url,
        'ingest.cells',
        JSON.stringify({ runId, cells: [cell(1), cell(2, { executionCount: 'two', status: 'fine' })] }),
        eve.token,
      );
      expect(res.status).toBe(400);
      expect(res.body.error!.message).toMatch(/cells\.1\.executionCount/);
      expect(res.body.error!.message).toMatch(/cells\.1\.status/);
      expect(await cellCount(runId)).toBe(0);
    });

    it('oversized source', async () => {
      const res = await post(server.url, 'ingest.cells', JSON.stringify({ runId, cells: [cell(1), cell(2, { source: 'x'.repeat(1001) })] }), eve.token);
      expect(res.status).toBe(400);
      expect(res.body.error!.message).toMatch(/cells\.1\.source: .* over the limit .*CELLMARK_MAX_SOURCE_BYTES/);
      expect(await cellCount(runId)).toBe(0);
    });

    it('invalid UTF-8 bytes', async () => {
      const json = JSON.stringify({ runId, cells: [cell(1), cell(2, { source: 'PLACEHOLDER' })] });
      const [before, after] = json.split('PLACEHOLDER') as [string, string];
      const bytes = Buffer.concat([Buffer.from(before), Buffer.from([0x78, 0xff, 0xfe, 0x79]), Buffer.from(after)]);
      const res = await post(server.url, 'ingest.cells', bytes, eve.token);
      expect(res.status).toBe(400);
      expect(res.body.error!.message).toBe('invalid input: cells.1.source is not valid UTF-8');
      expect(await cellCount(runId)).toBe(0);
    });

    it('unpaired surrogates escaped in JSON', async () => {
      const json = JSON.stringify({ runId, cells: [cell(1, { outputs: [{ output_type: 'stream', name: 'stdout', text: 'LONE' }] })] }).replace(
        'LONE',
        '\\ud800',
      );
      const res = await post(server.url, 'ingest.cells', json, eve.token);
      expect(res.status).toBe(400);
      expect(res.body.error!.message).toMatch(/cells\.0\.outputs\.0\.text: not valid Unicode/);
      expect(await cellCount(runId)).toBe(0);
    });

    it('a body over the size limit gets 413', async () => {
      const res = await post(server.url, 'ingest.cells', JSON.stringify({ runId, cells: [cell(1, { source: 'y'.repeat(250_000) })] }), eve.token);
      expect(res.status).toBe(413);
      expect(res.body.error!.message).toMatch(/CELLMARK_MAX_BODY_BYTES/);
      expect(await cellCount(runId)).toBe(0);
    });

    it('NUL characters are kept as U+FFFD instead of failing the batch', async () => {
      await eve.ingest.ingest.cells.mutate({ runId, cells: [cell(9, { source: 'a\u0000b' })] });
      const [row] = await server.database.db.select().from(runCells).where(eq(runCells.runId, runId));
      expect(row!.source).toBe('a\uFFFDb');
    });
  });

  it('allows cross-origin calls to ingest only', async () => {
    const preflight = await fetch(`${server.url}/api/trpc/ingest.cells`, { method: 'OPTIONS', headers: { origin: 'http://localhost:8888' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    const ui = await fetch(`${server.url}/api/trpc/runs.list`, { method: 'OPTIONS', headers: { origin: 'http://localhost:8888' } });
    expect(ui.headers.get('access-control-allow-origin')).toBeNull();
    // the extension's probe while the server was unreachable: a simple GET, no preflight
    const health = await fetch(`${server.url}/healthz`, { headers: { origin: 'http://localhost:8888' } });
    expect(health.status).toBe(200);
    expect(health.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('stores no token in plaintext', async () => {
    const frank = await userWithProject(server, 'frank');
    const rows = await server.database.db.query.apiTokens.findMany();
    expect(rows.some((r) => r.tokenHash === frank.token || JSON.stringify(r).includes(frank.token))).toBe(false);
  });
});
