// First run: whether any user exists yet, and a new user's first team and project.
import { count, type Db, users } from '@cellmark/db';
import type { Actor } from './policy.ts';
import { createProject, createTeam } from './teams.ts';

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
