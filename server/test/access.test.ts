// Every procedure of the router × every kind of caller, over real HTTP. The procedures are
// read from appRouter itself, so a procedure added without an entry in `table` fails here.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { appRouter } from '../src/trpc/router.ts';
import { provider } from './collab-clients.ts';
import { eventually, signUp, startTestServer, type TestServer, type TestUser, trpcClient, userWithProject } from './helpers.ts';

/** tRPC v11 types `_def.procedures` as the nested router; at runtime it is flat, keyed by dotted path. */
const byPath = appRouter._def.procedures as unknown as Record<string, { _def: { type: 'query' | 'mutation' | 'subscription' } }>;

const members = ['owner', 'admin', 'editor', 'viewer'] as const;
const callers = ['anonymous', 'outsider', ...members, 'revokedToken', 'share'] as const;
type Caller = (typeof callers)[number];
type Outcome = 'ok' | 'UNAUTHORIZED' | 'FORBIDDEN' | 'NOT_FOUND';

/**
 * How a procedure authenticates, and what it needs of a caller who did:
 * - `public`: nothing; `session`: a browser session; `token`: an extension API token;
 *   `session|share`: a session, or a report's share link (`share` in the input).
 * - `signedIn`: any account; `read | write | admin`: that permission in the fixture's team;
 *   `runOwner`: the run's own user (the capture paths act for whoever runs the kernel);
 *   `self`: the caller's own things (the owner's token, so everyone else gets NOT_FOUND).
 */
interface Entry {
  auth: 'public' | 'session' | 'token' | 'session|share';
  needs: 'nothing' | 'signedIn' | 'read' | 'write' | 'admin' | 'runOwner' | 'self';
  /** a valid input; may set things up first (as the owner), once per call */
  input: (caller: Caller) => unknown;
}

let server: TestServer;
let owner: Awaited<ReturnType<typeof userWithProject>>;
let outsider: Awaited<ReturnType<typeof userWithProject>>;
let target: TestUser;
const people = {} as Record<'owner' | 'admin' | 'editor' | 'viewer' | 'outsider', { cookie: string; token: string }>;
let revokedToken: string;
let runId: string;
let reportId: string;
let versionId: string;
let shareToken: string;
let invitationToken: string;
const providers: WebsocketProvider[] = [];
let counter = 0;
const unique = (what: string) => `${what}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;

const now = () => new Date().toISOString();
const freshRun = async () =>
  (await owner.ingest.ingest.startRun.mutate({ project: owner.projectPath, clientKey: unique('access-run'), notebookPath: 'n.ipynb', startedAt: now() })).runId;
const freshReport = async () => (await owner.api.reports.create.mutate({ projectId: owner.project.id, title: unique('report') })).id;

const table: Record<string, Entry> = {
  'setup.status': { auth: 'public', needs: 'nothing', input: () => undefined },
  'setup.createWorkspace': { auth: 'session', needs: 'signedIn', input: () => ({ teamName: unique('team'), projectName: 'P' }) },
  'me.get': { auth: 'session', needs: 'signedIn', input: () => undefined },

  'teams.list': { auth: 'session', needs: 'signedIn', input: () => undefined },
  'teams.create': { auth: 'session', needs: 'signedIn', input: () => ({ name: unique('team') }) },
  'teams.bySlug': { auth: 'session', needs: 'read', input: () => ({ slug: owner.team.slug }) },
  'teams.members': { auth: 'session', needs: 'read', input: () => ({ teamId: owner.team.id }) },
  'teams.addMember': { auth: 'session', needs: 'admin', input: () => ({ teamId: owner.team.id, email: target.email, role: 'viewer' }) },
  'teams.removeMember': {
    auth: 'session',
    needs: 'admin',
    input: async () => {
      await owner.api.teams.addMember.mutate({ teamId: owner.team.id, email: target.email, role: 'viewer' });
      return { teamId: owner.team.id, userId: target.id };
    },
  },

  'projects.list': { auth: 'session', needs: 'read', input: () => ({ teamId: owner.team.id }) },
  'projects.byPath': { auth: 'session', needs: 'read', input: () => ({ team: owner.team.slug, project: owner.project.slug }) },
  'projects.create': { auth: 'session', needs: 'admin', input: () => ({ teamId: owner.team.id, name: unique('project') }) },

  'tokens.list': { auth: 'session', needs: 'signedIn', input: () => undefined },
  'tokens.create': { auth: 'session', needs: 'signedIn', input: () => ({ name: 'lab' }) },
  'tokens.revoke': { auth: 'session', needs: 'self', input: async () => ({ tokenId: (await owner.api.tokens.create.mutate({ name: 'spare' })).id }) },

  'invitations.create': { auth: 'session', needs: 'admin', input: () => ({ teamId: owner.team.id, role: 'viewer', expiresInDays: 1 }) },
  'invitations.list': { auth: 'session', needs: 'admin', input: () => ({ teamId: owner.team.id }) },
  'invitations.revoke': {
    auth: 'session',
    needs: 'admin',
    input: async () => {
      const { id } = await owner.api.invitations.create.mutate({ teamId: owner.team.id, role: 'viewer', expiresInDays: 1 });
      return { teamId: owner.team.id, invitationId: id };
    },
  },
  'invitations.open': { auth: 'public', needs: 'nothing', input: () => ({ token: invitationToken }) },
  // into a team of its own each time, so that accepting changes nobody's role in the fixture team
  'invitations.accept': {
    auth: 'session',
    needs: 'signedIn',
    input: async () => {
      const team = await owner.api.teams.create.mutate({ name: unique('elsewhere') });
      return { token: (await owner.api.invitations.create.mutate({ teamId: team.id, role: 'viewer', expiresInDays: 1 })).token };
    },
  },

  'runs.list': { auth: 'session', needs: 'read', input: () => ({ projectId: owner.project.id }) },
  'runs.get': { auth: 'session', needs: 'read', input: () => ({ runId }) },
  'runs.update': { auth: 'session', needs: 'write', input: () => ({ runId, tags: ['checked'] }) },
  'metrics.keys': { auth: 'session', needs: 'read', input: () => ({ projectId: owner.project.id }) },
  'metrics.series': { auth: 'session|share', needs: 'read', input: () => ({ projectId: owner.project.id, runIds: [runId], key: 'loss', width: 20 }) },

  'reports.list': { auth: 'session', needs: 'read', input: () => ({ projectId: owner.project.id }) },
  'reports.trash': { auth: 'session', needs: 'read', input: () => ({ projectId: owner.project.id }) },
  'reports.get': { auth: 'session', needs: 'read', input: () => ({ reportId }) },
  'reports.create': { auth: 'session', needs: 'write', input: () => ({ projectId: owner.project.id, title: 'New' }) },
  'reports.rename': { auth: 'session', needs: 'write', input: () => ({ reportId, title: 'Findings' }) },
  'reports.delete': { auth: 'session', needs: 'write', input: async () => ({ reportId: await freshReport() }) },
  'reports.restore': {
    auth: 'session',
    needs: 'write',
    input: async () => {
      const id = await freshReport();
      await owner.api.reports.delete.mutate({ reportId: id });
      return { reportId: id };
    },
  },
  'reportHistory.list': { auth: 'session', needs: 'read', input: () => ({ reportId }) },
  'reportHistory.get': { auth: 'session', needs: 'read', input: () => ({ reportId, versionId }) },
  'reportHistory.create': { auth: 'session', needs: 'write', input: () => ({ reportId, name: 'v' }) },
  'reportHistory.restore': { auth: 'session', needs: 'write', input: () => ({ reportId, versionId }) },
  'reportShares.create': { auth: 'session', needs: 'write', input: () => ({ reportId }) },
  'reportShares.list': { auth: 'session', needs: 'write', input: () => ({ reportId }) },
  'reportShares.revoke': {
    auth: 'session',
    needs: 'write',
    input: async () => ({ reportId, shareId: (await owner.api.reportShares.create.mutate({ reportId })).id }),
  },
  'reportShares.open': { auth: 'public', needs: 'nothing', input: () => ({ token: shareToken }) },
  'reportShares.runs': { auth: 'public', needs: 'nothing', input: () => ({ token: shareToken }) },

  'ingest.whoami': { auth: 'token', needs: 'signedIn', input: () => undefined },
  'ingest.startRun': {
    auth: 'token',
    needs: 'write',
    input: () => ({ project: owner.projectPath, clientKey: unique('start'), notebookPath: 'n.ipynb', startedAt: now() }),
  },
  'ingest.cells': {
    auth: 'token',
    needs: 'runOwner',
    input: async () => ({ runId: await freshRun(), cells: [{ executionKey: 'k1', source: 'x = 1', status: 'ok', startedAt: now(), endedAt: now() }] }),
  },
  'ingest.endRun': { auth: 'token', needs: 'runOwner', input: async () => ({ runId: await freshRun(), status: 'finished', endedAt: now() }) },
  'ingest.updateRun': { auth: 'token', needs: 'runOwner', input: () => ({ runId, addTags: ['kernel'] }) },
  'ingest.metrics': {
    auth: 'token',
    needs: 'runOwner',
    input: async () => ({ runId: await freshRun(), points: [{ key: 'loss', step: 0, value: 1, time: now() }] }),
  },
  'ingest.summary': { auth: 'token', needs: 'runOwner', input: () => ({ runId, set: { accuracy: 0.9 } }) },
  'ingest.heartbeat': { auth: 'token', needs: 'runOwner', input: () => ({ runId }) },
  'ingest.kernelHello': { auth: 'token', needs: 'runOwner', input: () => ({ runId, language: 'python' }) },
  'ingest.environment': { auth: 'token', needs: 'runOwner', input: () => ({ runId, environment: { python: '3.12' } }) },
};

const rank = { viewer: 0, editor: 1, admin: 2, owner: 3 } as const;
const needsRank = { read: 0, write: 1, admin: 2 } as const;

function expected(entry: Entry, caller: Caller): Outcome {
  if (entry.auth === 'public') return 'ok';
  if (caller === 'share') return entry.auth === 'session|share' ? 'ok' : 'UNAUTHORIZED';
  if (caller === 'anonymous' || caller === 'revokedToken') return 'UNAUTHORIZED';
  switch (entry.needs) {
    case 'nothing':
    case 'signedIn':
      return 'ok';
    case 'self':
      return caller === 'owner' ? 'ok' : 'NOT_FOUND';
    case 'runOwner':
      return caller === 'owner' ? 'ok' : 'FORBIDDEN';
    default:
      if (caller === 'outsider') return 'FORBIDDEN';
      return rank[caller] >= needsRank[entry.needs] ? 'ok' : 'FORBIDDEN';
  }
}

/** One real HTTP call as `caller`: session cookie or bearer token as the procedure takes it. */
async function call(path: string, entry: Entry, caller: Caller): Promise<Outcome> {
  const procedure = byPath[path]!;
  let input = await entry.input(caller);
  const headers: Record<string, string> = { 'content-type': 'application/json', origin: server.url };
  if (caller === 'revokedToken') headers.authorization = `Bearer ${revokedToken}`;
  // a public procedure that takes a link takes it as its own input (reportShares.* are strict)
  else if (caller === 'share') input = entry.auth === 'session|share' ? { ...(input as object), share: shareToken } : input;
  else if (caller !== 'anonymous') {
    if (entry.auth === 'token') headers.authorization = `Bearer ${people[caller].token}`;
    else headers.cookie = people[caller].cookie;
  }
  const url = `${server.url}/api/trpc/${path}`;
  const res =
    procedure._def.type === 'query'
      ? await fetch(input === undefined ? url : `${url}?input=${encodeURIComponent(JSON.stringify(input))}`, { headers })
      : await fetch(url, { method: 'POST', headers, body: input === undefined ? undefined : JSON.stringify(input) });
  const body = (await res.json()) as { error?: { message: string; data: { code: string } } };
  if (res.ok) return 'ok';
  const code = body.error?.data.code;
  if (code !== 'UNAUTHORIZED' && code !== 'FORBIDDEN' && code !== 'NOT_FOUND') throw new Error(`${path} as ${caller}: ${res.status} ${body.error?.message}`);
  return code;
}

beforeAll(async () => {
  server = await startTestServer();
  owner = await userWithProject(server, 'owner');
  people.owner = owner;
  for (const role of ['admin', 'editor', 'viewer'] as const) {
    const user = await signUp(server, role);
    await owner.api.teams.addMember.mutate({ teamId: owner.team.id, email: user.email, role });
    people[role] = { cookie: user.cookie, token: (await user.api.tokens.create.mutate({ name: 'lab' })).token };
  }
  // the outsider has a team of their own, just not this one
  outsider = await userWithProject(server, 'outsider');
  people.outsider = outsider;
  target = await signUp(server, 'target');
  const spare = await owner.api.tokens.create.mutate({ name: 'old laptop' });
  await owner.api.tokens.revoke.mutate({ tokenId: spare.id });
  revokedToken = spare.token;

  runId = await freshRun();
  await owner.ingest.ingest.metrics.mutate({ runId, points: [{ key: 'loss', step: 0, value: 1, time: now() }] });
  reportId = await freshReport();
  ({ id: versionId } = await owner.api.reportHistory.create.mutate({ reportId, name: 'first' }));
  // the report charts the run's loss, so its share link may read exactly that
  const editor = provider(server, reportId, owner, providers);
  await eventually(() => expect(editor.provider.synced).toBe(true));
  const block = new Y.XmlElement('runChart');
  for (const [key, value] of Object.entries({ blockId: 'b1', source: 'runs', runIds: [runId], keys: ['loss'] })) block.setAttribute(key, value as never);
  editor.doc.getXmlFragment('prosemirror').insert(0, [block]);
  ({ token: shareToken } = await owner.api.reportShares.create.mutate({ reportId }));
  await eventually(async () =>
    expect(
      await trpcClient(server.url).metrics.series.query({ share: shareToken, projectId: owner.project.id, runIds: [runId], key: 'loss', width: 20 }),
    ).toBeTruthy(),
  );
  ({ token: invitationToken } = await owner.api.invitations.create.mutate({ teamId: owner.team.id, role: 'viewer', expiresInDays: 1 }));
}, 60_000);
afterAll(async () => {
  providers.forEach((p) => p.destroy());
  await server?.dispose();
});

const procedures = Object.keys(byPath).sort();

it('every procedure of the router has an access entry, and every entry a procedure', () => {
  expect(procedures.filter((p) => !(p in table))).toEqual([]);
  expect(Object.keys(table).filter((p) => !procedures.includes(p))).toEqual([]);
});

describe.each(procedures.filter((p) => p in table))('%s', (path) => {
  const entry = table[path]!;
  it(`${entry.auth}, needs ${entry.needs}`, async () => {
    const outcomes: Partial<Record<Caller, Outcome>> = {};
    const wanted: Partial<Record<Caller, Outcome>> = {};
    // one caller at a time: some inputs set the fixture up (a member to remove) for the call
    for (const caller of callers) {
      outcomes[caller] = await call(path, entry, caller);
      wanted[caller] = expected(entry, caller);
    }
    expect(outcomes).toEqual(wanted);
  });
});

it('a valid API token opens no browser procedure', async () => {
  const opened: string[] = [];
  for (const path of procedures.filter((p) => table[p]!.auth === 'session' || table[p]!.auth === 'session|share')) {
    const procedure = byPath[path]!;
    const input = await table[path]!.input('owner');
    const url = `${server.url}/api/trpc/${path}`;
    const headers = { 'content-type': 'application/json', origin: server.url, authorization: `Bearer ${owner.token}` };
    const query = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`;
    const res =
      procedure._def.type === 'query'
        ? await fetch(url + query, { headers })
        : await fetch(url, { method: 'POST', headers, body: JSON.stringify(input ?? null) });
    if (res.status !== 401) opened.push(`${path}: ${res.status}`);
  }
  expect(opened).toEqual([]);
});
