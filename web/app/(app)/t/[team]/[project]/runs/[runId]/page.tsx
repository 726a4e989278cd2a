// /t/[team]/[project]/runs/[runId]: one run and its cells in real execution order.
'use client';
import { useQuery } from '@tanstack/react-query';
import { useParams } from 'next/navigation';
import { ErrorBox, Loading } from '@/components/query-state.tsx';
import { CellView } from '@/components/run/cell-view.tsx';
import { RunHeader } from '@/components/run/run-header.tsx';
import { useTRPC } from '@/lib/trpc.ts';

export default function RunPage() {
  const { runId } = useParams<{ runId: string }>();
  const trpc = useTRPC();
  const run = useQuery({
    ...trpc.runs.get.queryOptions({ runId }),
    // cells keep arriving while the kernel lives
    refetchInterval: (query) => (query.state.data?.run.status === 'running' ? 5000 : false),
  });

  if (run.isPending) return <main className="page"><Loading /></main>;
  if (run.isError) return <main className="page"><ErrorBox error={run.error} /></main>;

  return (
    <main className="page">
      <RunHeader data={run.data} />
      {run.data.cells.length === 0 ? (
        <div className="card empty">
          <p className="muted">No cells recorded yet. Executed cells appear here as they finish.</p>
        </div>
      ) : (
        <div className="cells" data-testid="cells">
          {/* the order runs.get returns is the real execution order */}
          {run.data.cells.map((cell) => (
            <CellView key={cell.id} cell={cell} />
          ))}
        </div>
      )}
    </main>
  );
}
