// A report page answers HTTP 404 for a report that does not exist (or an id no report can have).
import type { ReactNode } from 'react';
import { notFoundIfMissing, serverQuery } from '@/lib/server-api.ts';

export default async function ReportLayout({ children, params }: { children: ReactNode; params: Promise<{ reportId: string }> }) {
  const { reportId } = await params;
  notFoundIfMissing(await serverQuery('reports.get', { reportId }));
  return children;
}
