// A run page answers HTTP 404 for a run that does not exist in this project (or an id no run can have).
import { notFound } from 'next/navigation';
import type { ReactNode } from 'react';
import { notFoundIfMissing, serverQuery } from '@/lib/server-api.ts';

type Params = { team: string; project: string; runId: string };

export default async function RunLayout({ children, params }: { children: ReactNode; params: Promise<Params> }) {
  const { team, project, runId } = await params;
  const found = notFoundIfMissing(await serverQuery('projects.byPath', { team, project }));
  if (found.ok) {
    const projectId = (found.data as { project: { id: string } }).project.id;
    const listed = notFoundIfMissing(await serverQuery('runs.list', { projectId, filter: { runIds: [runId] }, limit: 1 }));
    if (listed.ok && (listed.data as { runs: unknown[] }).runs.length === 0) notFound();
  }
  return children;
}
