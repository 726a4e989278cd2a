// /t/[team]/[project]/reports/[reportId]: a live report (title + the collaboratively edited document).
'use client';
import { useQuery } from '@tanstack/react-query';
import { useParams, usePathname } from 'next/navigation';
import { ErrorBox, Loading } from '@/components/query-state.tsx';
import { ReportEditor } from '@/components/report/report-editor.tsx';
import { ReportHistoryBar } from '@/components/report/report-history-bar.tsx';
import { ReportTitle } from '@/components/report/report-title.tsx';
import { useTRPC } from '@/lib/trpc.ts';

export default function ReportPage() {
  const { team, project, reportId } = useParams<{ team: string; project: string; reportId: string }>();
  const pathname = usePathname();
  const trpc = useTRPC();
  const report = useQuery(trpc.reports.get.queryOptions({ reportId }));

  if (report.isPending)
    return (
      <main className="page page-narrow">
        <Loading />
      </main>
    );
  if (report.isError)
    return (
      <main className="page page-narrow">
        <ErrorBox error={report.error} />
      </main>
    );

  return (
    <main className="page page-report">
      <div className="page-head report-title">
        <ReportTitle reportId={report.data.id} projectId={report.data.projectId} title={report.data.title} canWrite={report.data.canWrite} />
      </div>
      <ReportHistoryBar place={{ reportId: report.data.id, projectId: report.data.projectId, base: `/t/${team}/${project}` }} canWrite={report.data.canWrite} />
      <ReportEditor
        key={report.data.id}
        reportId={report.data.id}
        projectId={report.data.projectId}
        base={`/t/${team}/${project}`}
        canWrite={report.data.canWrite}
        path={pathname}
      />
    </main>
  );
}
