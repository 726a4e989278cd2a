// The project's reports: a list and a "New report" button (for editors and up).
'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { ErrorBox, FormError, Loading } from '@/components/query-state.tsx';
import { exactTime, relativeTime } from '@/lib/format.ts';
import { useTRPC } from '@/lib/trpc.ts';

export function ReportsPanel({ projectId, base, canWrite }: { projectId: string; base: string; canWrite: boolean }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const reports = useQuery(trpc.reports.list.queryOptions({ projectId }));
  const create = useMutation(
    trpc.reports.create.mutationOptions({
      onSuccess: async (report) => {
        await queryClient.invalidateQueries(trpc.reports.list.queryFilter({ projectId }));
        router.push(`${base}/reports/${report.id}`);
      },
    }),
  );

  return (
    <section data-testid="reports">
      <div className="page-head" style={{ marginBottom: 12 }}>
        <p className="muted">Live documents the team writes together: findings, comparisons, decisions.</p>
        {canWrite ? (
          <button
            className="btn btn-primary"
            type="button"
            disabled={create.isPending}
            onClick={() => create.mutate({ projectId, title: 'Untitled report' })}
            data-testid="new-report"
          >
            {create.isPending ? 'Creating…' : 'New report'}
          </button>
        ) : null}
      </div>
      <FormError error={create.error} />
      {reports.isPending ? <Loading /> : null}
      {reports.isError ? <ErrorBox error={reports.error} /> : null}
      {reports.data?.length === 0 ? (
        <div className="card empty">
          <h2>No reports yet</h2>
          <p className="muted">{canWrite ? 'Start one with “New report”; everyone in the team can edit it live.' : 'Reports written by this team will appear here.'}</p>
        </div>
      ) : null}
      {reports.data?.length ? (
        <ul className="card list">
          {reports.data.map((r) => (
            <li key={r.id} data-testid="report-row">
              <Link className="list-link" href={`${base}/reports/${r.id}`}>
                {r.title}
              </Link>
              <span className="muted small" title={exactTime(r.updatedAt)}>
                updated {relativeTime(r.updatedAt)}
              </span>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
