// Every UI procedure × every role × another team, through the one policy module.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, errorOf, signUp, startTestServer, type TestServer, trpcClient, userWithProject } from './helpers.ts';

let server: TestServer;
let owner: Awaited<ReturnType<typeof userWithProject>>;
const members: Record<'admin' | 'editor' | 'viewer' | 'outsider', Client> = {} as never;
let runId: string;
let reportId: string;
let versionId: string;

beforeAll(async () => {
  server = await startTestServer();
  owner = await userWithProject(server, 'owner');
  for (const role of ['admin', 'editor', 'viewer'] as const) {
    const user = await signUp(server, role);
    await owner.api.teams.addMember.mutate({ teamId: owner.team.id, email: user.email, role });
    members[role] = user.api;
  }
  // the outsider has a team of their own, just not this one
  members.outsider = (await userWithProject(server, 'outsider')).api;
  ({ runId } = await owner.ingest.ingest.startRun.mutate({
    project: owner.projectPath,
    clientKey: 'access-run-1',
    notebookPath: 'n.ipynb',
    startedAt: new Date().toISOString(),
  }));
  ({ id: reportId } = await owner.api.reports.create.mutate({ projectId: owner.project.id, title: 'Findings' }));
  ({ id: versionId } = await owner.api.reportHistory.create.mutate({ reportId, name: 'first' }));
});
afterAll(() => server?.dispose());

type Need = 'read' | 'write' | 'admin';
const allowed: Record<Need, string[]> = {
  read: ['owner', 'admin', 'editor', 'viewer'],
  write: ['owner', 'admin', 'editor'],
  admin: ['owner', 'admin'],
};

const procedures: [string, Need, (api: Client) => Promise<unknown>][] = [
  ['teams.bySlug', 'read', (api) => api.teams.bySlug.query({ slug: owner.team.slug })],
  ['teams.members', 'read', (api) => api.teams.members.query({ teamId: owner.team.id })],
  ['projects.list', 'read', (api) => api.projects.list.query({ teamId: owner.team.id })],
  ['projects.byPath', 'read', (api) => api.projects.byPath.query({ team: owner.team.slug, project: owner.project.slug })],
  ['runs.list', 'read', (api) => api.runs.list.query({ projectId: owner.project.id })],
  ['runs.get', 'read', (api) => api.runs.get.query({ runId })],
  ['reports.list', 'read', (api) => api.reports.list.query({ projectId: owner.project.id })],
  ['reports.get', 'read', (api) => api.reports.get.query({ reportId })],
  ['reports.create', 'write', (api) => api.reports.create.mutate({ projectId: owner.project.id, title: 'New' })],
  ['reports.rename', 'write', (api) => api.reports.rename.mutate({ reportId, title: 'Renamed' })],
  ['reportHistory.list', 'read', (api) => api.reportHistory.list.query({ reportId })],
  ['reportHistory.get', 'read', (api) => api.reportHistory.get.query({ reportId, versionId })],
  ['reportHistory.create', 'write', (api) => api.reportHistory.create.mutate({ reportId, name: 'v' })],
  ['reportHistory.restore', 'write', (api) => api.reportHistory.restore.mutate({ reportId, versionId })],
  ['reportShares.create', 'write', (api) => api.reportShares.create.mutate({ reportId })],
  ['reportShares.list', 'write', (api) => api.reportShares.list.query({ reportId })],
  ['reportShares.revoke', 'write', async (api) => {
    // a fresh link each time, made by the owner: the caller's permission is what is tested
    const { id } = await owner.api.reportShares.create.mutate({ reportId });
    return api.reportShares.revoke.mutate({ reportId, shareId: id });
  }],
  ['projects.create', 'admin', (api) => api.projects.create.mutate({ teamId: owner.team.id, name: `P ${Math.random()}` })],
  ['teams.addMember', 'admin', (api) => api.teams.addMember.mutate({ teamId: owner.team.id, email: owner.email, role: 'owner' })],
];

describe.each(procedures)('%s needs %s', (_name, need, call) => {
  it.each(['owner', 'admin', 'editor', 'viewer', 'outsider'] as const)('as %s', async (who) => {
    const api = who === 'owner' ? owner.api : members[who];
    const result = await call(api).then(
      () => 'ok',
      (e) => errorOf(e).code,
    );
    // adding an owner needs an owner, even for admins
    const expected = _name === 'teams.addMember' && who === 'admin' ? 'FORBIDDEN' : allowed[need].includes(who) ? 'ok' : 'FORBIDDEN';
    expect(result).toBe(expected);
  });

  it('signed out → 401', async () => {
    const anonymous = trpcClient(server.url);
    expect(await call(anonymous).then(() => 'ok', (e) => errorOf(e).status)).toBe(401);
  });
});

describe('tokens are personal', () => {
  it("a user neither sees nor revokes another user's tokens", async () => {
    const mine = await owner.api.tokens.list.query();
    expect(mine.length).toBeGreaterThan(0);
    const other = members.editor;
    expect(await other.tokens.list.query()).toEqual([]);
    const attempt = await other.tokens.revoke.mutate({ tokenId: mine[0]!.id }).catch(errorOf);
    expect(attempt).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('an API token cannot call UI procedures', async () => {
    const res = await owner.ingest.runs.list.query({ projectId: owner.project.id }).catch(errorOf);
    expect(res).toMatchObject({ status: 401 });
  });
});
