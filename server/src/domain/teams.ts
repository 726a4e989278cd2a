// Teams, memberships and projects.
import { and, asc, type Db, type DbOrTx, desc, eq, memberships, projects, type Role, runs, sql, teams, users } from '@cellmark/db';
import { DomainError } from './errors.ts';
import { type Actor, assertKeepsAnOwner, assertRoleChange, ownerCount, permissionsOf, requireTeam } from './policy.ts';

export function slugify(name: string): string {
  const slug = name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^\w\s-]/g, '')
    .trim()
    .replace(/[\s_]+/g, '-')
    .replace(/-+/g, '-')
    .slice(0, 48);
  return slug.replace(/^-|-$/g, '') || 'untitled';
}

function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; cause?: { code?: string } };
  return e.code === '23505' || e.cause?.code === '23505';
}

export async function createTeam(db: Db, actor: Actor, input: { name: string; slug?: string }) {
  const slug = input.slug ?? slugify(input.name);
  try {
    return await db.transaction(async (tx) => {
      const [team] = await tx.insert(teams).values({ name: input.name, slug }).returning();
      await tx.insert(memberships).values({ teamId: team!.id, userId: actor.userId, role: 'owner' });
      return team!;
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new DomainError('CONFLICT', `a team with the slug "${slug}" already exists`);
    throw error;
  }
}

export async function listMyTeams(db: Db, actor: Actor) {
  return db
    .select({ id: teams.id, slug: teams.slug, name: teams.name, role: memberships.role })
    .from(memberships)
    .innerJoin(teams, eq(teams.id, memberships.teamId))
    .where(eq(memberships.userId, actor.userId))
    .orderBy(asc(teams.name));
}

export async function getTeamBySlug(db: Db, actor: Actor, slug: string) {
  const [team] = await db.select().from(teams).where(eq(teams.slug, slug));
  if (!team) throw new DomainError('NOT_FOUND', `team "${slug}" does not exist`);
  const role = await requireTeam(db, actor, team.id, 'read');
  return { ...team, role, permissions: permissionsOf(role) };
}

export async function listMembers(db: Db, actor: Actor, teamId: string) {
  await requireTeam(db, actor, teamId, 'read');
  return db
    .select({ userId: users.id, name: users.name, email: users.email, role: memberships.role })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.teamId, teamId))
    .orderBy(asc(users.name));
}

/** Adds a user by email or changes their role (the rules are policy.ts's assertRoleChange). */
export async function addMember(db: Db, actor: Actor, input: { teamId: string; email: string; role: Role }) {
  await requireTeam(db, actor, input.teamId, 'admin');
  const [user] = await db.select({ id: users.id }).from(users).where(eq(users.email, input.email.toLowerCase()));
  if (!user) throw new DomainError('NOT_FOUND', `no user with the email ${input.email}; they need to sign up first`);
  await changeMembership(db, actor, input.teamId, user.id, input.role);
  return { userId: user.id, role: input.role };
}

export async function removeMember(db: Db, actor: Actor, input: { teamId: string; userId: string }) {
  await changeMembership(db, actor, input.teamId, input.userId, null);
  return { userId: input.userId };
}

/**
 * Every membership change of a team runs here, one at a time: the team row is locked first,
 * then the actor's role, the member's role and the owner count are read under that lock. Two
 * owners demoting each other at once are serialised, and the second finds itself no longer
 * an owner (or the other one the last), instead of both passing on a stale count.
 */
export async function changeMembership(db: DbOrTx, actor: Actor, teamId: string, userId: string, to: Role | null) {
  await db.transaction(async (tx) => {
    await tx.select({ id: teams.id }).from(teams).where(eq(teams.id, teamId)).for('update');
    const actorRole = await requireTeam(tx, actor, teamId, 'admin');
    const [current] = await tx
      .select({ role: memberships.role })
      .from(memberships)
      .where(and(eq(memberships.teamId, teamId), eq(memberships.userId, userId)));
    const from = current?.role ?? null;
    if (!from && !to) throw new DomainError('NOT_FOUND', 'this user is not a member of this team');
    assertRoleChange(actorRole, from, to);
    assertKeepsAnOwner(await ownerCount(tx, teamId), from, to);
    if (to) {
      await tx
        .insert(memberships)
        .values({ teamId, userId, role: to })
        .onConflictDoUpdate({ target: [memberships.teamId, memberships.userId], set: { role: to, updatedAt: new Date() } });
    } else {
      await tx.delete(memberships).where(and(eq(memberships.teamId, teamId), eq(memberships.userId, userId)));
    }
  });
}

export async function createProject(db: Db, actor: Actor, input: { teamId: string; name: string; slug?: string; description?: string }) {
  await requireTeam(db, actor, input.teamId, 'admin');
  const slug = input.slug ?? slugify(input.name);
  try {
    const [project] = await db
      .insert(projects)
      .values({ teamId: input.teamId, name: input.name, slug, description: input.description ?? '' })
      .returning();
    return project!;
  } catch (error) {
    if (isUniqueViolation(error)) throw new DomainError('CONFLICT', `this team already has a project with the slug "${slug}"`);
    throw error;
  }
}

export async function listProjects(db: Db, actor: Actor, teamId: string) {
  await requireTeam(db, actor, teamId, 'read');
  return db.select().from(projects).where(eq(projects.teamId, teamId)).orderBy(asc(projects.name));
}

/**
 * The project to land on after signing in: of the user's projects, the one whose latest run
 * started last (a project without runs counts from its creation); null when they have none.
 */
export async function recentProject(db: Db, actor: Actor): Promise<{ team: string; project: string } | null> {
  // max() over runs_project_started_idx: one index probe per project
  const lastRun = sql`(select max(${runs.startedAt}) from ${runs} where ${runs.projectId} = ${projects.id})`;
  const [row] = await db
    .select({ team: teams.slug, project: projects.slug })
    .from(memberships)
    .innerJoin(teams, eq(teams.id, memberships.teamId))
    .innerJoin(projects, eq(projects.teamId, teams.id))
    .where(eq(memberships.userId, actor.userId))
    .orderBy(sql`coalesce(${lastRun}, ${projects.createdAt}) desc`, desc(projects.createdAt))
    .limit(1);
  return row ?? null;
}

/** Resolves "team/project" slugs (what users type into the extension settings). */
export async function findProjectByPath(db: Db, actor: Actor, projectPath: string) {
  const [teamSlug, projectSlug, ...rest] = projectPath.split('/');
  if (!teamSlug || !projectSlug || rest.length) {
    throw new DomainError('INVALID_INPUT', `project must look like "team-slug/project-slug", got "${projectPath}"`);
  }
  const [row] = await db
    .select({ project: projects, team: teams })
    .from(projects)
    .innerJoin(teams, eq(teams.id, projects.teamId))
    .where(and(eq(teams.slug, teamSlug), eq(projects.slug, projectSlug)));
  if (!row) throw new DomainError('NOT_FOUND', `project "${projectPath}" does not exist`);
  const role = await requireTeam(db, actor, row.team.id, 'read');
  return { ...row, role, permissions: permissionsOf(role) };
}
