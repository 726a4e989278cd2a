// Reports: metadata here (create, list, rename, soft delete and restore); the document
// itself is a Yjs update log in store.ts beside it. A deleted report keeps its document: it
// sits in the project's trash (deleted_at set) until someone restores it.
import { and, asc, type Db, desc, eq, isNotNull, isNull, reports } from '@cellmark/db';
import { DomainError } from '../errors.ts';
import { type Actor, requireProject, requireReport } from '../policy.ts';

export async function createReport(db: Db, actor: Actor, input: { projectId: string; title: string }) {
  await requireProject(db, actor, input.projectId, 'write');
  const [report] = await db.insert(reports).values({ projectId: input.projectId, title: input.title, createdBy: actor.userId }).returning();
  return report!;
}

export async function listReports(db: Db, actor: Actor, projectId: string) {
  await requireProject(db, actor, projectId, 'read');
  return db
    .select({ id: reports.id, title: reports.title, createdAt: reports.createdAt, updatedAt: reports.updatedAt })
    .from(reports)
    .where(and(eq(reports.projectId, projectId), isNull(reports.deletedAt)))
    .orderBy(desc(reports.updatedAt), asc(reports.title));
}

/** The project's trash: deleted reports, most recently deleted first. */
export async function listDeletedReports(db: Db, actor: Actor, projectId: string) {
  await requireProject(db, actor, projectId, 'read');
  const rows = await db
    .select({ id: reports.id, title: reports.title, createdAt: reports.createdAt, deletedAt: reports.deletedAt })
    .from(reports)
    .where(and(eq(reports.projectId, projectId), isNotNull(reports.deletedAt)))
    .orderBy(desc(reports.deletedAt), asc(reports.title));
  return rows.map((r) => ({ ...r, deletedAt: r.deletedAt! }));
}

export async function getReport(db: Db, actor: Actor, reportId: string) {
  // A deleted report is still not found, but those who may see the project learn why.
  const [row] = await db.select({ projectId: reports.projectId, deletedAt: reports.deletedAt }).from(reports).where(eq(reports.id, reportId));
  if (row?.deletedAt) {
    await requireProject(db, actor, row.projectId, 'read');
    throw new DomainError('NOT_FOUND', "this report is in the project's trash; restore it from the Reports tab (Trash)");
  }
  const { report, project, canWrite } = await requireReport(db, actor, reportId, 'read');
  return { id: report.id, title: report.title, projectId: project.id, canWrite };
}

export async function renameReport(db: Db, actor: Actor, input: { reportId: string; title: string }) {
  await requireReport(db, actor, input.reportId, 'write');
  const [row] = await db
    .update(reports)
    .set({ title: input.title })
    .where(and(eq(reports.id, input.reportId), isNull(reports.deletedAt)))
    .returning();
  if (!row) throw new DomainError('NOT_FOUND', `report ${input.reportId} does not exist`);
  return row;
}

/** Moves a report to the trash. Its document and history stay; restoreReport brings it back. */
export async function deleteReport(db: Db, actor: Actor, reportId: string) {
  await requireReport(db, actor, reportId, 'write');
  const [row] = await db
    .update(reports)
    .set({ deletedAt: new Date() })
    .where(and(eq(reports.id, reportId), isNull(reports.deletedAt)))
    .returning({ id: reports.id, title: reports.title, projectId: reports.projectId, deletedAt: reports.deletedAt });
  // deleted by someone else between the check and the update
  if (!row) throw new DomainError('NOT_FOUND', `report ${reportId} does not exist`);
  return row;
}

export async function restoreReport(db: Db, actor: Actor, reportId: string) {
  // requireReport hides deleted reports, so look the row up here and check the project.
  const [report] = await db.select().from(reports).where(eq(reports.id, reportId));
  if (!report) throw new DomainError('NOT_FOUND', `report ${reportId} does not exist`);
  await requireProject(db, actor, report.projectId, 'write');
  if (!report.deletedAt) throw new DomainError('CONFLICT', `report "${report.title}" is not in the trash`);
  const [row] = await db
    .update(reports)
    .set({ deletedAt: null })
    .where(eq(reports.id, reportId))
    .returning({ id: reports.id, title: reports.title, projectId: reports.projectId });
  return row!;
}
