// Who may create an account: open sign-up (off by default in production), the first-run
// account, invitation links; and a sign-up that does not tell whether an email exists.
import { eq, memberships, teamInvitations } from '@cellmark/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnv } from '../src/env.ts';
import { authPost, cookieOf, errorOf, signIn, signUp, startTestServer, type TestServer, trpcClient, userWithProject } from './helpers.ts';

const secret = 'test-secret-that-is-long-enough-0123456789';
const password = 'correct horse battery';

describe('CELLMARK_ALLOW_SIGNUP', () => {
  it('defaults to off in production and on elsewhere', () => {
    expect(loadEnv({ NODE_ENV: 'production', CELLMARK_SECRET: secret }).CELLMARK_ALLOW_SIGNUP).toBe(false);
    expect(loadEnv({ NODE_ENV: 'development' }).CELLMARK_ALLOW_SIGNUP).toBe(true);
    expect(loadEnv({ NODE_ENV: 'test' }).CELLMARK_ALLOW_SIGNUP).toBe(true);
    expect(loadEnv({ NODE_ENV: 'production', CELLMARK_SECRET: secret, CELLMARK_ALLOW_SIGNUP: '1' }).CELLMARK_ALLOW_SIGNUP).toBe(true);
  });
});

describe('sign-up closed (invitation links)', () => {
  let server: TestServer;
  let owner: Awaited<ReturnType<typeof userWithProject>>;
  beforeAll(async () => {
    server = await startTestServer({ CELLMARK_ALLOW_SIGNUP: '0' });
  });
  afterAll(() => server?.dispose());

  const attempt = (name: string, headers: Record<string, string> = {}) =>
    authPost(server, 'sign-up/email', { name, email: `${name}@example.test`, password }, headers);

  it('the first visitor of an empty server creates the first account, team and project', async () => {
    const status = await trpcClient(server.url).setup.status.query();
    expect(status).toEqual({ needsFirstUser: true, signUpAllowed: false });
    owner = await userWithProject(server, 'first');
    expect(owner.team.slug).toBeTruthy();
  });

  it('after that, sign-up without an invitation is a clear 403', async () => {
    const res = await attempt('walkin');
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ message: expect.stringMatching(/by invitation only/) });
    expect((await authPost(server, 'sign-in/email', { email: 'walkin@example.test', password })).status).toBe(401);
  });

  it('an invitation link signs a new person up into the team with its role', async () => {
    const invite = await owner.api.invitations.create.mutate({ teamId: owner.team.id, role: 'editor', expiresInDays: 7 });
    expect(invite.token).toMatch(/^cmi_/);
    // stored hashed, like API tokens and share links
    const [row] = await server.database.db.select().from(teamInvitations).where(eq(teamInvitations.id, invite.id));
    expect(JSON.stringify(row)).not.toContain(invite.token);
    expect(await trpcClient(server.url).invitations.open.query({ token: invite.token })).toMatchObject({
      team: { id: owner.team.id, name: owner.team.name },
      role: 'editor',
    });
    const ada = await signUp(server, 'ada', invite.token);
    expect((await ada.api.teams.bySlug.query({ slug: owner.team.slug })).role).toBe('editor');
    const [listed] = await owner.api.invitations.list.query({ teamId: owner.team.id });
    expect(listed).toMatchObject({ id: invite.id, useCount: 1, prefix: invite.token.slice(0, 10) });
    expect(listed).not.toHaveProperty('token');
  });

  it('a single-use link signs up one person, even when two try at once', async () => {
    const invite = await owner.api.invitations.create.mutate({ teamId: owner.team.id, role: 'viewer', expiresInDays: 1, maxUses: 1 });
    const header = { 'x-cellmark-invitation': invite.token };
    const statuses = await Promise.all([attempt('once-a', header), attempt('once-b', header), attempt('once-c', header)]).then((r) => r.map((x) => x.status));
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s !== 200).every((s) => s === 403 || s === 409)).toBe(true);
    const res = await attempt('once-d', header);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ message: 'this invitation link has been used up' });
    const members = await server.database.db.select().from(memberships).where(eq(memberships.teamId, owner.team.id));
    expect(members.filter((m) => m.role === 'viewer')).toHaveLength(1);
  });

  it('revoked, expired and unknown links sign nobody up', async () => {
    const revoked = await owner.api.invitations.create.mutate({ teamId: owner.team.id, role: 'viewer', expiresInDays: 1 });
    await owner.api.invitations.revoke.mutate({ teamId: owner.team.id, invitationId: revoked.id });
    const expired = await owner.api.invitations.create.mutate({ teamId: owner.team.id, role: 'viewer', expiresInDays: 1 });
    await server.database.db
      .update(teamInvitations)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(teamInvitations.id, expired.id));
    for (const [token, message] of [
      [revoked.token, 'this invitation link has been revoked'],
      [expired.token, 'this invitation link has expired'],
      ['cmi_nonsense', 'invitation link is not known to this server'],
    ] as const) {
      const res = await attempt(`bad-${message.length}`, { 'x-cellmark-invitation': token });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ message });
      const open = await trpcClient(server.url).invitations.open.query({ token }).catch(errorOf);
      expect(open).toMatchObject({ message });
    }
  });

  it('a signed-in person accepts a link and is never demoted by one', async () => {
    const viewerLink = await owner.api.invitations.create.mutate({ teamId: owner.team.id, role: 'viewer', expiresInDays: 1 });
    const adminLink = await owner.api.invitations.create.mutate({ teamId: owner.team.id, role: 'admin', expiresInDays: 1 });
    const other = await userWithProject(server, 'other', adminLink.token);
    expect((await other.api.teams.bySlug.query({ slug: owner.team.slug })).role).toBe('admin');
    expect(await other.api.invitations.accept.mutate({ token: viewerLink.token })).toMatchObject({ role: 'admin' });
    expect(await owner.api.invitations.accept.mutate({ token: viewerLink.token })).toMatchObject({ role: 'owner' });
  });

  it('admins invite up to admin, owners up to owner, others not at all', async () => {
    const admin = await signUp(server, 'admin2', (await owner.api.invitations.create.mutate({ teamId: owner.team.id, role: 'admin', expiresInDays: 1 })).token);
    const editor = await signUp(
      server,
      'editor2',
      (await owner.api.invitations.create.mutate({ teamId: owner.team.id, role: 'editor', expiresInDays: 1 })).token,
    );
    expect(await admin.api.invitations.create.mutate({ teamId: owner.team.id, role: 'admin', expiresInDays: 1 })).toMatchObject({ role: 'admin' });
    const ownerLink = await admin.api.invitations.create.mutate({ teamId: owner.team.id, role: 'owner', expiresInDays: 1 }).catch(errorOf);
    expect(ownerLink).toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/only an owner can invite an owner/) });
    expect(await editor.api.invitations.create.mutate({ teamId: owner.team.id, role: 'viewer', expiresInDays: 1 }).catch(errorOf)).toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(await owner.api.invitations.create.mutate({ teamId: owner.team.id, role: 'owner', expiresInDays: 1 })).toMatchObject({ role: 'owner' });
  });

  it('a link stops inviting once its creator can no longer grant its role', async () => {
    const admin = await signUp(server, 'admin3', (await owner.api.invitations.create.mutate({ teamId: owner.team.id, role: 'admin', expiresInDays: 1 })).token);
    const link = await admin.api.invitations.create.mutate({ teamId: owner.team.id, role: 'editor', expiresInDays: 1 });
    const late = await signUp(server, 'late', (await owner.api.invitations.create.mutate({ teamId: owner.team.id, role: 'viewer', expiresInDays: 1 })).token);
    await owner.api.teams.addMember.mutate({ teamId: owner.team.id, email: admin.email, role: 'viewer' });
    const message = 'this invitation link is no longer valid: whoever created it can no longer invite as editor';
    expect(await late.api.invitations.accept.mutate({ token: link.token }).catch(errorOf)).toMatchObject({ code: 'FORBIDDEN', message });
    const res = await attempt('later', { 'x-cellmark-invitation': link.token });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ message });
    expect((await late.api.teams.bySlug.query({ slug: owner.team.slug })).role).toBe('viewer');
  });
});

describe('sign-up does not reveal which emails exist', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.dispose());

  it('answers alike for a new and an existing email, and changes nothing for the existing one', async () => {
    const existing = await signUp(server, 'known');
    const fresh = await authPost(server, 'sign-up/email', { name: 'New', email: 'new-person@example.test', password });
    const again = await authPost(server, 'sign-up/email', { name: 'Impostor', email: existing.email, password: 'another password 123' });
    expect(again.status).toBe(fresh.status);
    expect(fresh.status).toBe(200);
    const shape = async (res: Response) => {
      const body = (await res.json()) as { token: unknown; user: Record<string, unknown> };
      return { token: body.token, keys: Object.keys(body.user).sort() };
    };
    expect(await shape(again)).toEqual(await shape(fresh));
    // neither signs in; the existing account keeps its password and name
    expect(cookieOf(again)).toBe('');
    expect(cookieOf(fresh)).toBe('');
    expect((await authPost(server, 'sign-in/email', { email: existing.email, password: 'another password 123' })).status).toBe(401);
    const back = await signIn(server, existing.email);
    expect((await back.api.me.get.query()).user.name).toBe('known');
  });
});
