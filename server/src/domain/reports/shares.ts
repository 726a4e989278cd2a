// View-only share links for reports: created (the token shown once, only its SHA-256 kept,
// as for API tokens), listed, revoked; resolved for the collab socket and the shared page.
import { randomBytes } from 'node:crypto';
import { and, type Db, desc, eq, isNull, projects, reportShares, reports, teams, users } from '@cellmark/db';
import { DomainError } from '../errors.ts';
import { type Actor, requireReport } from '../policy.ts';
import { hashToken } from '../tokens.ts';

const PREFIX = 'cms_';

/** Editors (and up) share a report; the link grants read-only access to anyone holding it. */
export async function createShare(db: Db, actor: Actor, reportId: string) {
  await requireReport(db, actor, reportId, 'write');
  const token = PREFIX + randomBytes(32).toString('base64url');
  const [row] = await db
    .insert(reportShares)
    .values({ reportId, tokenHash: hashToken(token), prefix: token.slice(0, 10), createdBy: actor.userId })
    .returning({ id: reportShares.id, reportId: reportShares.reportId, prefix: reportShares.prefix, createdAt: reportShares.createdAt });
  return { ...row!, token };
}

export async function listShares(db: Db, actor: Actor, reportId: string) {
  await requireReport(db, actor, reportId, 'write');
  const rows = await db
    .select({
      id: reportShares.id,
      prefix: reportShares.prefix,
      createdAt: reportShares.createdAt,
      revokedAt: reportShares.revokedAt,
      createdBy: { id: users.id, name: users.name },
    })
    .from(reportShares)
    .leftJoin(users, eq(users.id, reportShares.createdBy))
    .where(eq(reportShares.reportId, reportId))
    .orderBy(desc(reportShares.createdAt));
  return rows.map((r) => ({ ...r, createdBy: r.createdBy?.id ? r.createdBy : null }));
}

export async function revokeShare(db: Db, actor: Actor, input: { reportId: string; shareId: string }) {
  await requireReport(db, actor, input.reportId, 'write');
  const [row] = await db
    .update(reportShares)
    .set({ revokedAt: new Date() })
    .where(and(eq(reportShares.id, input.shareId), eq(reportShares.reportId, input.reportId), isNull(reportShares.revokedAt)))
    .returning({ id: reportShares.id, revokedAt: reportShares.revokedAt });
  if (!row) throw new DomainError('NOT_FOUND', 'no such active share link on this report');
  return row;
}

/**
 * What a share token opens. UNAUTHORIZED for a token this server never issued, FORBIDDEN
 * once revoked, NOT_FOUND when the report was deleted.
 */
export async function openShare(db: Db, token: string) {
  if (!token.startsWith(PREFIX)) throw new DomainError('UNAUTHORIZED', 'share link is malformed');
  const [row] = await db
    .select({
      revokedAt: reportShares.revokedAt,
      report: { id: reports.id, title: reports.title, deletedAt: reports.deletedAt, updatedAt: reports.updatedAt },
      project: { id: projects.id, name: projects.name, slug: projects.slug },
      team: { id: teams.id, name: teams.name, slug: teams.slug },
    })
    .from(reportShares)
    .innerJoin(reports, eq(reports.id, reportShares.reportId))
    .innerJoin(projects, eq(projects.id, reports.projectId))
    .innerJoin(teams, eq(teams.id, projects.teamId))
    .where(eq(reportShares.tokenHash, hashToken(token)));
  if (!row) throw new DomainError('UNAUTHORIZED', 'share link is not known to this server');
  if (row.revokedAt) throw new DomainError('FORBIDDEN', 'this share link has been revoked');
  if (row.report.deletedAt) throw new DomainError('NOT_FOUND', 'the shared report was deleted');
  const { deletedAt: _, ...report } = row.report;
  return { report, project: row.project, team: row.team, canWrite: false as const };
}

/** The collab socket's access for `?share=<token>` on /collab/<reportId>. */
export async function shareAccess(db: Db, token: string, reportId: string) {
  const { report } = await openShare(db, token);
  if (report.id !== reportId) throw new DomainError('FORBIDDEN', 'this share link is for another report');
  return { userId: null, reportId, canWrite: false };
}
