// Reports: metadata here; the document itself lives in collab/ as a Yjs update log.
import { and, asc, desc, eq, isNull, reports, type Db } from '@cellmark/db';
import { DomainError } from './errors.ts';
import { type Actor, requireProject, requireReport } from './policy.ts';

export async function createReport(db: Db, actor: Actor, input: { projectId: string; title: string }) {
  await requireProject(db, actor, input.projectId, 'write');
  const [report] = await db
    .insert(reports)
    .values({ projectId: input.projectId, title: input.title, createdBy: actor.userId })
    .returning();
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

export async function getReport(db: Db, actor: Actor, reportId: string) {
  const { report, project, canWrite } = await requireReport(db, actor, reportId, 'read');
  return { id: report.id, title: report.title, projectId: project.id, canWrite };
}

export async function renameReport(db: Db, actor: Actor, input: { reportId: string; title: string }) {
  await requireReport(db, actor, input.reportId, 'write');
  const [row] = await db.update(reports).set({ title: input.title }).where(eq(reports.id, input.reportId)).returning();
  if (!row) throw new DomainError('NOT_FOUND', 'report not found');
  return row;
}
