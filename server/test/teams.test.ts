// Membership changes: who may grant, change or remove which role, and that a team always
// keeps an owner — also when two owners demote each other at the same moment.
import { and, eq, memberships } from '@cellmark/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, signUp, startTestServer, type TestServer, type TestUser, userWithProject } from './helpers.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.dispose());

async function teamWith(roles: ('owner' | 'admin' | 'editor' | 'viewer')[]) {
  const owner = await userWithProject(server, 'owner');
  const people: TestUser[] = [];
  for (const role of roles) {
    const user = await signUp(server, role);
    await owner.api.teams.addMember.mutate({ teamId: owner.team.id, email: user.email, role });
    people.push(user);
  }
  return { owner, teamId: owner.team.id, people };
}

async function roleOf(teamId: string, userId: string) {
  const [row] = await server.database.db
    .select({ role: memberships.role })
    .from(memberships)
    .where(and(eq(memberships.teamId, teamId), eq(memberships.userId, userId)));
  return row?.role ?? null;
}

describe('role changes', () => {
  it('an admin cannot demote an owner', async () => {
    const {
      owner,
      teamId,
      people: [admin],
    } = await teamWith(['admin']);
    const attempt = await admin!.api.teams.addMember.mutate({ teamId, email: owner.email, role: 'viewer' }).catch(errorOf);
    expect(attempt).toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/owner/) });
    expect(await roleOf(teamId, owner.id)).toBe('owner');
  });

  it('an admin cannot remove an owner', async () => {
    const {
      owner,
      teamId,
      people: [admin],
    } = await teamWith(['admin']);
    const attempt = await admin!.api.teams.removeMember.mutate({ teamId, userId: owner.id }).catch(errorOf);
    expect(attempt).toMatchObject({ code: 'FORBIDDEN' });
    expect(await roleOf(teamId, owner.id)).toBe('owner');
  });

  it('an admin manages editors, viewers and other admins below owner', async () => {
    const {
      teamId,
      people: [admin, editor, other],
    } = await teamWith(['admin', 'editor', 'admin']);
    await admin!.api.teams.addMember.mutate({ teamId, email: editor!.email, role: 'viewer' });
    expect(await roleOf(teamId, editor!.id)).toBe('viewer');
    await admin!.api.teams.addMember.mutate({ teamId, email: other!.email, role: 'editor' });
    expect(await roleOf(teamId, other!.id)).toBe('editor');
    await admin!.api.teams.removeMember.mutate({ teamId, userId: editor!.id });
    expect(await roleOf(teamId, editor!.id)).toBeNull();
    // …but never grants owner
    const grant = await admin!.api.teams.addMember.mutate({ teamId, email: other!.email, role: 'owner' }).catch(errorOf);
    expect(grant).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('an editor changes no roles', async () => {
    const {
      teamId,
      people: [editor, viewer],
    } = await teamWith(['editor', 'viewer']);
    const attempt = await editor!.api.teams.addMember.mutate({ teamId, email: viewer!.email, role: 'editor' }).catch(errorOf);
    expect(attempt).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('an owner makes and unmakes owners', async () => {
    const {
      owner,
      teamId,
      people: [admin],
    } = await teamWith(['admin']);
    await owner.api.teams.addMember.mutate({ teamId, email: admin!.email, role: 'owner' });
    expect(await roleOf(teamId, admin!.id)).toBe('owner');
    await owner.api.teams.addMember.mutate({ teamId, email: admin!.email, role: 'admin' });
    expect(await roleOf(teamId, admin!.id)).toBe('admin');
  });

  it('the last owner can be neither demoted nor removed', async () => {
    const { owner, teamId } = await teamWith([]);
    const demote = await owner.api.teams.addMember.mutate({ teamId, email: owner.email, role: 'admin' }).catch(errorOf);
    expect(demote).toMatchObject({ code: 'CONFLICT', status: 409, message: 'a team needs at least one owner' });
    const remove = await owner.api.teams.removeMember.mutate({ teamId, userId: owner.id }).catch(errorOf);
    expect(remove).toMatchObject({ code: 'CONFLICT', message: 'a team needs at least one owner' });
    expect(await roleOf(teamId, owner.id)).toBe('owner');
  });

  it('two owners demoting each other at once leave one owner', async () => {
    for (let round = 0; round < 5; round++) {
      const {
        owner: a,
        teamId,
        people: [b],
      } = await teamWith(['owner']);
      const results = await Promise.all([
        a.api.teams.addMember.mutate({ teamId, email: b!.email, role: 'editor' }).then(
          () => 'ok',
          (e) => errorOf(e).code,
        ),
        b!.api.teams.addMember.mutate({ teamId, email: a.email, role: 'editor' }).then(
          () => 'ok',
          (e) => errorOf(e).code,
        ),
      ]);
      // whichever ran second is no longer an owner (FORBIDDEN) or would leave none (CONFLICT)
      expect(results.filter((r) => r === 'ok')).toHaveLength(1);
      const roles = [await roleOf(teamId, a.id), await roleOf(teamId, b!.id)];
      expect(roles.filter((r) => r === 'owner')).toHaveLength(1);
    }
  });

  it('two owners removing each other at once leave one owner', async () => {
    const {
      owner: a,
      teamId,
      people: [b],
    } = await teamWith(['owner']);
    await Promise.all([
      a.api.teams.removeMember.mutate({ teamId, userId: b!.id }).catch(errorOf),
      b!.api.teams.removeMember.mutate({ teamId, userId: a.id }).catch(errorOf),
    ]);
    const roles = [await roleOf(teamId, a.id), await roleOf(teamId, b!.id)];
    expect(roles.filter((r) => r === 'owner')).toHaveLength(1);
  });

  it('a removed or unknown member is a clear 404', async () => {
    const { owner, teamId } = await teamWith([]);
    const stranger = await signUp(server, 'stranger');
    const attempt = await owner.api.teams.removeMember.mutate({ teamId, userId: stranger.id }).catch(errorOf);
    expect(attempt).toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('what the UI is told it may do', () => {
  it('is what the server then allows: write, admin and the roles each member may give', async () => {
    const { owner, teamId, people } = await teamWith(['admin', 'editor', 'viewer']);
    const all = ['viewer', 'editor', 'admin', 'owner'] as const;
    for (const member of [owner, ...people]) {
      const { role, permissions } = await member.api.teams.bySlug.query({ slug: owner.team.slug });
      const byPath = await member.api.projects.byPath.query({ team: owner.team.slug, project: owner.project.slug });
      expect(byPath.permissions).toEqual(permissions);
      expect({ role, write: permissions.write, admin: permissions.admin }).toEqual({
        role,
        write: role !== 'viewer',
        admin: role === 'admin' || role === 'owner',
      });
      // listed least first, as a role picker shows them (an owner's list ends with owner)
      expect(permissions.grantableRoles).toEqual(
        { owner: ['viewer', 'editor', 'admin', 'owner'], admin: ['viewer', 'editor', 'admin'], editor: [], viewer: [] }[role],
      );
      // each role offered can be given, each other one is refused
      for (const give of all) {
        const newcomer = await signUp(server, `${role}-gives-${give}`);
        const result = await member.api.teams.addMember.mutate({ teamId, email: newcomer.email, role: give }).then(
          () => 'allowed',
          (error) => errorOf(error).code,
        );
        expect({ role, give, result }).toEqual({ role, give, result: permissions.grantableRoles.includes(give) ? 'allowed' : 'FORBIDDEN' });
      }
    }
  });
});
