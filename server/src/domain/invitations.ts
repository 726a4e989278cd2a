// Invitation links into a team: created by admins and owners (the token shown once, only its
// SHA-256 kept, as for API tokens and share links), listed, revoked; opened by anyone holding
// one, used to sign up (also when open sign-up is off) or, signed in, to join the team.
import { randomBytes } from 'node:crypto';
import { and, type Db, type DbOrTx, desc, eq, gt, isNull, memberships, or, type Role, sql, teamInvitations, teams, users } from '@cellmark/db';
import { DomainError } from './errors.ts';
import { type Actor, mayGrant, requireTeam, roleCovers } from './policy.ts';
import { changeMembership } from './teams.ts';
import { hashToken } from './tokens.ts';

const PREFIX = 'cmi_';
const DAY_MS = 24 * 60 * 60 * 1000;
export const MAX_INVITATION_DAYS = 30;

/** The header a sign-up through an invitation link carries its token in (see auth.ts). */
export const INVITATION_HEADER = 'x-cellmark-invitation';

export interface CreateInvitationInput {
  teamId: string;
  role: Role;
  /** 1…MAX_INVITATION_DAYS */
  expiresInDays: number;
  /** null or absent: any number of people until it expires */
  maxUses?: number | null;
}

export async function createInvitation(db: Db, actor: Actor, input: CreateInvitationInput) {
  if (actor.via !== 'session') throw new DomainError('FORBIDDEN', 'invitation links can only be created from a signed-in browser session');
  const actorRole = await requireTeam(db, actor, input.teamId, 'admin');
  if (!mayGrant(actorRole, input.role)) {
    throw new DomainError('FORBIDDEN', `your role in this team is ${actorRole}; only an owner can invite an owner`);
  }
  const token = PREFIX + randomBytes(32).toString('base64url');
  const [row] = await db
    .insert(teamInvitations)
    .values({
      teamId: input.teamId,
      role: input.role,
      tokenHash: hashToken(token),
      prefix: token.slice(0, 10),
      createdBy: actor.userId,
      expiresAt: new Date(Date.now() + input.expiresInDays * DAY_MS),
      maxUses: input.maxUses ?? null,
    })
    .returning();
  return { ...publicFields(row!), token };
}

export async function listInvitations(db: Db, actor: Actor, teamId: string) {
  await requireTeam(db, actor, teamId, 'admin');
  const rows = await db
    .select({ invitation: teamInvitations, createdBy: { id: users.id, name: users.name } })
    .from(teamInvitations)
    .leftJoin(users, eq(users.id, teamInvitations.createdBy))
    .where(eq(teamInvitations.teamId, teamId))
    .orderBy(desc(teamInvitations.createdAt));
  return rows.map((r) => ({ ...publicFields(r.invitation), createdBy: r.createdBy?.id ? r.createdBy : null }));
}

export async function revokeInvitation(db: Db, actor: Actor, input: { teamId: string; invitationId: string }) {
  await requireTeam(db, actor, input.teamId, 'admin');
  const [row] = await db
    .update(teamInvitations)
    .set({ revokedAt: new Date() })
    .where(and(eq(teamInvitations.id, input.invitationId), eq(teamInvitations.teamId, input.teamId), isNull(teamInvitations.revokedAt)))
    .returning();
  if (!row) throw new DomainError('NOT_FOUND', 'no such active invitation link in this team');
  return publicFields(row);
}

type InvitationRow = typeof teamInvitations.$inferSelect;

function publicFields(row: InvitationRow) {
  return {
    id: row.id,
    teamId: row.teamId,
    role: row.role,
    prefix: row.prefix,
    expiresAt: row.expiresAt,
    maxUses: row.maxUses,
    useCount: row.useCount,
    revokedAt: row.revokedAt,
    createdAt: row.createdAt,
  };
}

/** Why a known invitation cannot be used any more, or null while it can. */
function unusable(row: InvitationRow, now = new Date()): string | null {
  if (row.revokedAt) return 'this invitation link has been revoked';
  if (row.expiresAt <= now) return 'this invitation link has expired';
  if (row.maxUses !== null && row.useCount >= row.maxUses) return 'this invitation link has been used up';
  return null;
}

async function findByToken(db: DbOrTx, token: string) {
  if (!token.startsWith(PREFIX)) throw new DomainError('UNAUTHORIZED', 'invitation link is malformed');
  const [row] = await db
    .select({ invitation: teamInvitations, team: { id: teams.id, name: teams.name, slug: teams.slug }, creatorRole: memberships.role })
    .from(teamInvitations)
    .innerJoin(teams, eq(teams.id, teamInvitations.teamId))
    .leftJoin(memberships, and(eq(memberships.teamId, teamInvitations.teamId), eq(memberships.userId, teamInvitations.createdBy)))
    .where(eq(teamInvitations.tokenHash, hashToken(token)));
  if (!row) throw new DomainError('UNAUTHORIZED', 'invitation link is not known to this server');
  return row;
}

/** A link invites on its creator's authority, as it stands now (policy.ts decides). */
function assertCreatorMayGrant(creatorRole: Role | null, invitation: InvitationRow) {
  if (!creatorRole || !mayGrant(creatorRole, invitation.role)) {
    throw new DomainError('FORBIDDEN', `this invitation link is no longer valid: whoever created it can no longer invite as ${invitation.role}`);
  }
}

/**
 * What an invitation link opens (no account needed): the team and role. UNAUTHORIZED for a
 * token this server never issued, FORBIDDEN once revoked, expired or used up.
 */
export async function openInvitation(db: DbOrTx, token: string) {
  const { invitation, team, creatorRole } = await findByToken(db, token);
  const reason = unusable(invitation);
  if (reason) throw new DomainError('FORBIDDEN', reason);
  assertCreatorMayGrant(creatorRole, invitation);
  return { team, role: invitation.role, expiresAt: invitation.expiresAt };
}

/**
 * Takes one use of the link, atomically: concurrent claims of a single-use link are
 * serialised by the row lock the UPDATE takes, and the loser re-reads use_count and fails.
 */
export async function claimInvitation(db: DbOrTx, token: string): Promise<InvitationRow> {
  const { invitation } = await findByToken(db, token);
  const [row] = await db
    .update(teamInvitations)
    .set({ useCount: sql`${teamInvitations.useCount} + 1` })
    .where(
      and(
        eq(teamInvitations.id, invitation.id),
        isNull(teamInvitations.revokedAt),
        gt(teamInvitations.expiresAt, new Date()),
        or(isNull(teamInvitations.maxUses), sql`${teamInvitations.useCount} < ${teamInvitations.maxUses}`),
      ),
    )
    .returning();
  if (row) return row;
  const [now] = await db.select().from(teamInvitations).where(eq(teamInvitations.id, invitation.id));
  throw new DomainError('FORBIDDEN', (now && unusable(now)) ?? 'this invitation link is no longer valid');
}

/**
 * Puts `userId` into the invitation's team with its role, on the authority of whoever created
 * the link (checked now by the policy module: a creator since demoted below the role, or
 * gone, no longer invites). Never lowers a role someone already has.
 */
export async function joinThroughInvitation(db: DbOrTx, userId: string, invitation: InvitationRow) {
  const [current] = await db
    .select({ role: memberships.role })
    .from(memberships)
    .where(and(eq(memberships.teamId, invitation.teamId), eq(memberships.userId, userId)));
  if (current && roleCovers(current.role, invitation.role)) return { teamId: invitation.teamId, role: current.role };
  if (!invitation.createdBy) throw new DomainError('FORBIDDEN', 'whoever created this invitation link has left; ask for a new one');
  await changeMembership(db, { userId: invitation.createdBy, via: 'session' }, invitation.teamId, userId, invitation.role);
  return { teamId: invitation.teamId, role: invitation.role };
}

/** A signed-in person joins through a link: one use, unless they already hold the role. */
export async function acceptInvitation(db: Db, actor: Actor, token: string) {
  if (actor.via !== 'session') throw new DomainError('FORBIDDEN', 'invitations are accepted from a signed-in browser session');
  const { invitation, team, creatorRole } = await findByToken(db, token);
  const [current] = await db
    .select({ role: memberships.role })
    .from(memberships)
    .where(and(eq(memberships.teamId, invitation.teamId), eq(memberships.userId, actor.userId)));
  if (current && roleCovers(current.role, invitation.role)) return { team, role: current.role };
  assertCreatorMayGrant(creatorRole, invitation);
  const joined = await db.transaction(async (tx) => joinThroughInvitation(tx, actor.userId, await claimInvitation(tx, token)));
  return { team, role: joined.role };
}

/** After a sign-up through a link (auth's user-create hook claimed its use already). */
export async function joinAfterSignUp(db: Db, userId: string, token: string) {
  const { invitation } = await findByToken(db, token);
  return joinThroughInvitation(db, userId, invitation);
}
