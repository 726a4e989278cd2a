// First run and the local quick start: the first user, their team and project, and
// (quick start only) an API token for the JupyterLab started beside the server.
import { count, type Db, users } from '@cellmark/db';
import { DomainError } from './errors.ts';
import type { Actor } from './policy.ts';
import { createProject, createTeam, listMyTeams } from './teams.ts';
import { createToken } from './tokens.ts';

export async function userCount(db: Db): Promise<number> {
  const [row] = await db.select({ n: count() }).from(users);
  return row?.n ?? 0;
}

/** A signed-in user without a team creates their first team and project in one step. */
export async function createWorkspace(db: Db, actor: Actor, input: { teamName: string; projectName: string }) {
  const team = await createTeam(db, actor, { name: input.teamName });
  const project = await createProject(db, actor, { teamId: team.id, name: input.projectName });
  return { team, project };
}

export interface SignUp {
  (input: { name: string; email: string; password: string }): Promise<{ userId: string }>;
}

/**
 * Quick start only (never in a server deployment): when the database has no user yet,
 * create a local user, team, project and token. Returns null when users already exist.
 */
export async function bootstrapLocal(db: Db, signUp: SignUp, password: string) {
  if ((await userCount(db)) > 0) return null;
  const email = 'you@localhost.test';
  const { userId } = await signUp({ name: 'Local user', email, password });
  const actor: Actor = { userId, via: 'session' };
  if ((await listMyTeams(db, actor)).length) throw new DomainError('CONFLICT', 'local user already has a team');
  const { team, project } = await createWorkspace(db, actor, { teamName: 'Local', projectName: 'Notebooks' });
  const token = await createToken(db, actor, 'local JupyterLab');
  return { email, password, team: team.slug, project: `${team.slug}/${project.slug}`, token: token.token };
}
