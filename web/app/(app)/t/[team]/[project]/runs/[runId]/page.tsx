// /t/[team]/[project]/runs/[runId]: one run: header (name, tags, notes, restart links), what
// was captured, config with history, environment, metric charts, system charts (GPU, CPU, RAM
// on the cells' wall-time axis), and the cells as a timeline (?order=notebook groups them by
// notebook cell instead).
'use client';
import { useQuery } from '@tanstack/react-query';
import { useParams, usePathname, useRouter, useSearchParams } from 'next/navigation';
import { Suspense } from 'react';
import { ErrorBox, Loading } from '@/components/query-state.tsx';
import { CaptureNote } from '@/components/run/capture-note.tsx';
import { type CellOrder, CellTimeline } from '@/components/run/cell-timeline.tsx';
import { ConfigPanel } from '@/components/run/config-panel.tsx';
import { EnvironmentPanel } from '@/components/run/environment-panel.tsx';
import { RunHeader } from '@/components/run/run-header.tsx';
import { RunMetrics } from '@/components/run/run-metrics.tsx';
import { RunSystem } from '@/components/run/run-system.tsx';
import { useTRPC } from '@/lib/trpc.ts';
import '@/components/run/run-panels.css';

function RunView() {
  const { team, project, runId } = useParams<{ team: string; project: string; runId: string }>();
  const router = useRouter();
  const pathname = usePathname();
  const order: CellOrder = useSearchParams().get('order') === 'notebook' ? 'notebook' : 'execution';
  const trpc = useTRPC();
  const run = useQuery({
    ...trpc.runs.get.queryOptions({ runId }),
    // cells keep arriving while the kernel lives
    refetchInterval: (query) => (query.state.data?.run.status === 'running' ? 5000 : false),
  });

  if (run.isPending) return <Loading />;
  if (run.isError) return <ErrorBox error={run.error} />;
  const base = `/t/${team}/${project}`;
  const setOrder = (next: CellOrder) => router.replace(next === 'notebook' ? `${pathname}?order=notebook` : pathname, { scroll: false });

  return (
    <>
      <RunHeader data={run.data} base={base} />
      <CaptureNote data={run.data} />
      <div className="run-panels">
        <ConfigPanel data={run.data} />
        <EnvironmentPanel data={run.data} />
      </div>
      <RunMetrics projectId={run.data.project.id} run={run.data.run} />
      <RunSystem data={run.data} />
      <CellTimeline data={run.data} order={order} onOrderChange={setOrder} />
    </>
  );
}

export default function RunPage() {
  return (
    <main className="page">
      <Suspense fallback={<Loading />}>
        <RunView />
      </Suspense>
    </main>
  );
}
