// The one place that decides who may do what. Every tRPC procedure and the collab
// websocket ask here; nothing else compares roles.
import { and, count, type Db, type DbOrTx, eq, memberships, projects, type Role, reports, roles, runs } from '@cellmark/db';
import { DomainError } from './errors.ts';

export interface Actor {
  /** empty for a share-link reader, who has no account */
  userId: string;
  /**
   * how the actor authenticated: a browser session, an extension API token, or a report's
   * view-only share link (made only by reports/share-reads.ts, after it checked that the link's
   * report charts exactly what is being read)
   */
  via: 'session' | 'token' | 'share';
  /** via 'share': the shared report's project, the only one it may read */
  shareProjectId?: string;
}

/** What an action needs. Roles are cumulative: owner ⊃ admin ⊃ editor ⊃ viewer. */
export type Permission = 'read' | 'write' | 'admin' | 'own';

const rank: Record<Role, number> = { viewer: 0, editor: 1, admin: 2, owner: 3 };
const needs: Record<Permission, number> = { read: 0, write: 1, admin: 2, own: 3 };

export function roleAllows(role: Role, permission: Permission): boolean {
  return rank[role] >= needs[permission];
}

/** `role` holds everything `other` does. */
export function roleCovers(role: Role, other: Role): boolean {
  return rank[role] >= rank[other];
}

export async function roleIn(db: DbOrTx, actor: Actor, teamId: string): Promise<Role | null> {
  if (actor.via === 'share') return null; // a link is nobody's membership
  const [row] = await db
    .select({ role: memberships.role })
    .from(memberships)
    .where(and(eq(memberships.teamId, teamId), eq(memberships.userId, actor.userId)));
  return row?.role ?? null;
}

export async function requireTeam(db: DbOrTx, actor: Actor, teamId: string, permission: Permission): Promise<Role> {
  return allowed(await roleIn(db, actor, teamId), permission);
}

/** Every role, least first: the order a role picker lists them in. */
const rolesAscending: readonly Role[] = [...roles].sort((a, b) => rank[a] - rank[b]);

/**
 * The roles `actorRole` may give, change or take away, least first. Admins manage everyone
 * below owner (other admins included); only owners touch the owner role.
 */
function grantableRoles(actorRole: Role): Role[] {
  if (!roleAllows(actorRole, 'admin')) return [];
  return rolesAscending.filter((r) => r !== 'owner' || actorRole === 'owner');
}

/**
 * What a member with `role` may do, for a UI to show only the controls that will work (the
 * server checks every action again): write (runs, reports, artifacts), admin (members,
 * invitations, projects), and the roles they may give.
 */
export function permissionsOf(role: Role): { write: boolean; admin: boolean; grantableRoles: Role[] } {
  return { write: roleAllows(role, 'write'), admin: roleAllows(role, 'admin'), grantableRoles: grantableRoles(role) };
}

/** May a member with `actorRole` give `role` to someone (a membership, an invitation link)? */
export function mayGrant(actorRole: Role, role: Role): boolean {
  return grantableRoles(actorRole).includes(role);
}

/**
 * May a member with `actorRole` move someone from `from` to `to`? `null` is "not a member"
 * (an addition) or "removed".
 */
export function assertRoleChange(actorRole: Role, from: Role | null, to: Role | null): void {
  if (!roleAllows(actorRole, 'admin')) {
    throw new DomainError('FORBIDDEN', `changing members needs admin permission; your role in this team is ${actorRole}`);
  }
  const grantable = grantableRoles(actorRole);
  if ((from && !grantable.includes(from)) || (to && !grantable.includes(to))) {
    throw new DomainError('FORBIDDEN', 'only an owner can grant, change or remove the owner role');
  }
}

/**
 * The last owner stays. `owners` must be counted under the team's lock (see
 * teams.ts changeMembership), so that two owners demoting each other cannot both pass.
 */
export function assertKeepsAnOwner(owners: number, from: Role | null, to: Role | null): void {
  if (from === 'owner' && to !== 'owner' && owners <= 1) throw new DomainError('CONFLICT', 'a team needs at least one owner');
}

/** The team's owners, for assertKeepsAnOwner: count them in the transaction that holds the team's lock. */
export async function ownerCount(tx: DbOrTx, teamId: string): Promise<number> {
  const [owners] = await tx
    .select({ n: count() })
    .from(memberships)
    .where(and(eq(memberships.teamId, teamId), eq(memberships.role, 'owner')));
  return owners?.n ?? 0;
}

/** Recording runs (the capture paths' startRun) needs editor; `teamSlug` is the team the settings name. */
export function assertMayRecordRuns(role: Role, teamSlug: string): void {
  if (!roleAllows(role, 'write')) throw new DomainError('FORBIDDEN', `your role in team "${teamSlug}" is ${role}; recording runs needs editor`);
}

/** Editors change a run from the web; from the kernel (an API token) only its owner does. */
export function assertMayEditRun(actor: Actor, run: { userId: string }): void {
  if (actor.via === 'token' && run.userId !== actor.userId) throw new DomainError('FORBIDDEN', "only the run's owner can change it from the kernel");
}

/** The actor's role in the team, if it allows `permission`. */
function allowed(role: Role | null, permission: Permission): Role {
  if (!role) throw new DomainError('FORBIDDEN', 'you are not a member of this team');
  if (!roleAllows(role, permission)) {
    throw new DomainError('FORBIDDEN', `this needs ${permission} permission; your role in this team is ${role}`);
  }
  return role;
}

export type ProjectRow = typeof projects.$inferSelect;

export async function requireProject(db: Db, actor: Actor, projectId: string, permission: Permission): Promise<{ project: ProjectRow; role: Role }> {
  const [project] = await db.select().from(projects).where(eq(projects.id, projectId));
  if (!project) throw new DomainError('NOT_FOUND', `project ${projectId} does not exist`);
  if (actor.via === 'share') return { project, role: shareRole(actor, project, permission) };
  const role = await requireTeam(db, actor, project.teamId, permission);
  return { project, role };
}

/** A share-link reader reads its report's project and nothing else. */
function shareRole(actor: Actor, project: ProjectRow, permission: Permission): Role {
  if (permission !== 'read' || actor.shareProjectId !== project.id) throw new DomainError('FORBIDDEN', "a share link only reads its report's charts");
  return 'viewer';
}

/** The run, its project and the actor's membership in one round trip (ingest asks once per batch). */
export async function requireRun(db: Db, actor: Actor, runId: string, permission: Permission) {
  const [row] = await db
    .select({ run: runs, project: projects, role: memberships.role })
    .from(runs)
    .innerJoin(projects, eq(projects.id, runs.projectId))
    .leftJoin(memberships, and(eq(memberships.teamId, projects.teamId), eq(memberships.userId, actor.userId)))
    .where(eq(runs.id, runId));
  if (!row) throw new DomainError('NOT_FOUND', `run ${runId} does not exist`);
  const { run, project } = row;
  const role = actor.via === 'share' ? shareRole(actor, project, permission) : allowed(row.role, permission);
  return { run, project, role, canWrite: roleAllows(role, 'write') };
}

export async function requireReport(db: Db, actor: Actor, reportId: string, permission: Permission) {
  const [report] = await db.select().from(reports).where(eq(reports.id, reportId));
  if (!report || report.deletedAt) throw new DomainError('NOT_FOUND', `report ${reportId} does not exist`);
  const { project, role } = await requireProject(db, actor, report.projectId, permission);
  return { report, project, role, canWrite: roleAllows(role, 'write') };
}
