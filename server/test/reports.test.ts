// Report CRUD over the real tRPC API: create, list, rename, soft delete into the trash,
// restore; who may do each; bad input is a clear 400. Runs on PGlite, and on Postgres
// when DATABASE_URL is set.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, errorOf, signUp, startTestServer, type TestServer, trpcClient, userWithProject } from './helpers.ts';

let server: TestServer;
let owner: Awaited<ReturnType<typeof userWithProject>>;
let editor: Client;
let viewer: Client;
let outsider: Client;

beforeAll(async () => {
  server = await startTestServer();
  owner = await userWithProject(server, 'owner');
  for (const role of ['editor', 'viewer'] as const) {
    const user = await signUp(server, role);
    await owner.api.teams.addMember.mutate({ teamId: owner.team.id, email: user.email, role });
    if (role === 'editor') editor = user.api;
    else viewer = user.api;
  }
  outsider = (await userWithProject(server, 'outsider')).api;
});
afterAll(() => server?.dispose());

const fails = (p: Promise<unknown>) => p.then(() => ({ code: 'ok', message: '', status: 200 }), errorOf);

describe('report lifecycle', () => {
  it('create → list → rename → delete (trash) → restore', async () => {
    const projectId = owner.project.id;
    const created = await editor.reports.create.mutate({ projectId, title: '  Baselines  ' });
    expect(created.title).toBe('Baselines'); // trimmed
    expect((await viewer.reports.list.query({ projectId })).map((r) => r.id)).toContain(created.id);

    await editor.reports.rename.mutate({ reportId: created.id, title: 'Baselines v2' });
    expect(await viewer.reports.get.query({ reportId: created.id })).toMatchObject({ title: 'Baselines v2', projectId, canWrite: false });
    expect(await editor.reports.get.query({ reportId: created.id })).toMatchObject({ canWrite: true });

    const deleted = await editor.reports.delete.mutate({ reportId: created.id });
    expect(deleted.deletedAt).toBeTruthy();
    expect((await viewer.reports.list.query({ projectId })).map((r) => r.id)).not.toContain(created.id);
    const trash = await viewer.reports.trash.query({ projectId });
    expect(trash.map((r) => [r.id, r.title])).toContainEqual([created.id, 'Baselines v2']);
    // gone for everything but restore
    const gone = await fails(viewer.reports.get.query({ reportId: created.id }));
    expect(gone).toMatchObject({ code: 'NOT_FOUND', status: 404 });
    expect(gone.message).toMatch(/in the project's trash/);
    // another team learns nothing about it
    expect(await fails(outsider.reports.get.query({ reportId: created.id }))).toMatchObject({ code: 'FORBIDDEN' });
    expect(await fails(editor.reports.rename.mutate({ reportId: created.id, title: 'x' }))).toMatchObject({ code: 'NOT_FOUND' });
    expect(await fails(editor.reports.delete.mutate({ reportId: created.id }))).toMatchObject({ code: 'NOT_FOUND' });

    await owner.api.reports.restore.mutate({ reportId: created.id });
    expect((await viewer.reports.list.query({ projectId })).map((r) => r.id)).toContain(created.id);
    expect((await viewer.reports.trash.query({ projectId })).map((r) => r.id)).not.toContain(created.id);
    expect(await editor.reports.get.query({ reportId: created.id })).toMatchObject({ title: 'Baselines v2' });
    // restoring what is not in the trash says so
    const again = await fails(editor.reports.restore.mutate({ reportId: created.id }));
    expect(again).toMatchObject({ code: 'CONFLICT', status: 409 });
    expect(again.message).toMatch(/not in the trash/);
  });

  it('the trash is ordered by deletion, newest first, and lists only this project', async () => {
    const projectId = owner.project.id;
    const a = await owner.api.reports.create.mutate({ projectId, title: 'A' });
    const b = await owner.api.reports.create.mutate({ projectId, title: 'B' });
    await owner.api.reports.delete.mutate({ reportId: a.id });
    await owner.api.reports.delete.mutate({ reportId: b.id });
    const ids = (await owner.api.reports.trash.query({ projectId })).map((r) => r.id);
    expect(ids.indexOf(b.id)).toBeLessThan(ids.indexOf(a.id));
    const other = await userWithProject(server, 'other');
    expect(await other.api.reports.trash.query({ projectId: other.project.id })).toEqual([]);
  });
});

describe('who may', () => {
  let reportId: string;
  beforeAll(async () => {
    ({ id: reportId } = await owner.api.reports.create.mutate({ projectId: owner.project.id, title: 'Guarded' }));
  });

  it('viewers read the list and the trash but cannot delete or restore', async () => {
    expect(await fails(viewer.reports.delete.mutate({ reportId }))).toMatchObject({ code: 'FORBIDDEN', status: 403 });
    await editor.reports.delete.mutate({ reportId });
    expect(await fails(viewer.reports.restore.mutate({ reportId }))).toMatchObject({ code: 'FORBIDDEN' });
    expect((await viewer.reports.trash.query({ projectId: owner.project.id })).map((r) => r.id)).toContain(reportId);
    await editor.reports.restore.mutate({ reportId });
  });

  it('another team sees, deletes and restores nothing', async () => {
    expect(await fails(outsider.reports.trash.query({ projectId: owner.project.id }))).toMatchObject({ code: 'FORBIDDEN' });
    expect(await fails(outsider.reports.delete.mutate({ reportId }))).toMatchObject({ code: 'FORBIDDEN' });
    await owner.api.reports.delete.mutate({ reportId });
    expect(await fails(outsider.reports.restore.mutate({ reportId }))).toMatchObject({ code: 'FORBIDDEN' });
    await owner.api.reports.restore.mutate({ reportId });
  });

  it('signed out → 401 for every new procedure', async () => {
    const anonymous = trpcClient(server.url);
    // each call starts only when awaited: a rejection left pending while an
    // earlier one is awaited is an unhandled rejection, which fails the run
    for (const call of [
      () => anonymous.reports.trash.query({ projectId: owner.project.id }),
      () => anonymous.reports.delete.mutate({ reportId }),
      () => anonymous.reports.restore.mutate({ reportId }),
    ]) {
      expect(await fails(call())).toMatchObject({ status: 401 });
    }
  });
});

describe('bad input', () => {
  it('names the problem', async () => {
    const empty = await fails(editor.reports.create.mutate({ projectId: owner.project.id, title: '   ' }));
    expect(empty).toMatchObject({ code: 'BAD_REQUEST', status: 400 });
    expect(empty.message).toMatch(/title must not be empty/);
    const long = await fails(editor.reports.create.mutate({ projectId: owner.project.id, title: 'x'.repeat(201) }));
    expect(long.message).toMatch(/at most 200 characters/);
    // was a 500 carrying the failed SQL (Postgres text cannot hold NUL)
    const nul = await fails(editor.reports.create.mutate({ projectId: owner.project.id, title: 'a\u0000b' }));
    expect(nul).toMatchObject({ code: 'BAD_REQUEST', status: 400 });
    expect(nul.message).toMatch(/title: must not contain U\+0000 \(NUL\)/);
    const half = await fails(editor.reports.create.mutate({ projectId: owner.project.id, title: 'a\ud800b' }));
    expect(half).toMatchObject({ code: 'BAD_REQUEST', status: 400 });
    expect(half.message).toMatch(/title: the title must be valid Unicode/);
    const badId = await fails(editor.reports.delete.mutate({ reportId: 'nope' }));
    expect(badId).toMatchObject({ status: 400 });
    expect(badId.message).toMatch(/reportId: not a report id/);
    const missing = await fails(editor.reports.restore.mutate({ reportId: '00000000-0000-4000-8000-000000000000' }));
    expect(missing).toMatchObject({ code: 'NOT_FOUND', status: 404 });
  });
});
