// /t/[team]/[project]: the runs table, and the project's reports in a second tab (?tab=reports).
'use client';
import { skipToken, useQuery } from '@tanstack/react-query';
import { useParams, usePathname, useRouter, useSearchParams } from 'next/navigation';
import { Suspense } from 'react';
import { ConnectJupyterLab } from '@/components/project/connect-jupyterlab.tsx';
import { ReportsPanel } from '@/components/project/reports-panel.tsx';
import { RunsTable } from '@/components/project/runs-table.tsx';
import { ErrorBox, Loading } from '@/components/query-state.tsx';
import { useTRPC } from '@/lib/trpc.ts';

type Tab = 'runs' | 'reports';

function ProjectView() {
  const { team, project } = useParams<{ team: string; project: string }>();
  const router = useRouter();
  const pathname = usePathname();
  const tab: Tab = useSearchParams().get('tab') === 'reports' ? 'reports' : 'runs';
  const trpc = useTRPC();
  const info = useQuery(trpc.projects.byPath.queryOptions({ team, project }));
  const projectId = info.data?.project.id;
  // New runs and live ones keep arriving from JupyterLab.
  const runs = useQuery({ ...trpc.runs.list.queryOptions(projectId ? { projectId } : skipToken), refetchInterval: 10_000 });

  if (info.isPending) return <Loading />;
  if (info.isError) return <ErrorBox error={info.error} />;
  const base = `/t/${team}/${project}`;
  const canWrite = info.data.role !== 'viewer';
  const select = (next: Tab) => router.replace(next === 'runs' ? pathname : `${pathname}?tab=${next}`, { scroll: false });

  return (
    <>
      <div className="page-head">
        <div>
          <h1>{info.data.project.name}</h1>
          <p className="sub">
            {info.data.project.description || (
              <>
                <code className="inline">{`${info.data.team.slug}/${info.data.project.slug}`}</code> in {info.data.team.name}
              </>
            )}
          </p>
        </div>
      </div>
      <div className="tabs" role="tablist">
        <button type="button" role="tab" className="tab" aria-selected={tab === 'runs'} onClick={() => select('runs')} data-testid="tab-runs">
          Runs{runs.data ? <span className="count">{runs.data.runs.length}</span> : null}
        </button>
        <button type="button" role="tab" className="tab" aria-selected={tab === 'reports'} onClick={() => select('reports')} data-testid="tab-reports">
          Reports
        </button>
      </div>
      {tab === 'runs' ? (
        <div role="tabpanel">
          {runs.isPending ? <Loading /> : null}
          {runs.isError ? <ErrorBox error={runs.error} /> : null}
          {runs.data?.runs.length === 0 ? <ConnectJupyterLab projectPath={`${info.data.team.slug}/${info.data.project.slug}`} /> : null}
          {runs.data?.runs.length ? <RunsTable runs={runs.data.runs} base={base} /> : null}
        </div>
      ) : (
        <div role="tabpanel">
          <ReportsPanel projectId={info.data.project.id} base={base} canWrite={canWrite} />
        </div>
      )}
    </>
  );
}

export default function ProjectPage() {
  return (
    <main className="page">
      <Suspense fallback={<Loading />}>
        <ProjectView />
      </Suspense>
    </main>
  );
}
