// The project's reports: the list ("New report", rename, move to trash) and the Trash
// (deleted reports, restorable). Editors and up change things; viewers see both lists.
'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { ErrorBox, FormError, Loading } from '@/components/query-state.tsx';
import { RenameInput, useRenameToggle } from '@/components/rename-input.tsx';
import { useRenameReport } from '@/components/report/use-rename-report.ts';
import { exactTime, relativeTime } from '@/lib/format.ts';
import { useTRPC } from '@/lib/trpc.ts';

type View = 'reports' | 'trash';

export function ReportsPanel({ projectId, base, canWrite }: { projectId: string; base: string; canWrite: boolean }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [view, setView] = useState<View>('reports');
  const reports = useQuery(trpc.reports.list.queryOptions({ projectId }));
  const trash = useQuery(trpc.reports.trash.queryOptions({ projectId }));
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries(trpc.reports.list.queryFilter({ projectId })),
      queryClient.invalidateQueries(trpc.reports.trash.queryFilter({ projectId })),
    ]);
  const create = useMutation(
    trpc.reports.create.mutationOptions({
      onSuccess: async (report) => {
        await refresh();
        router.push(`${base}/reports/${report.id}`);
      },
    }),
  );
  const remove = useMutation(trpc.reports.delete.mutationOptions({ onSuccess: refresh }));
  const restore = useMutation(trpc.reports.restore.mutationOptions({ onSuccess: refresh }));
  const trashCount = trash.data?.length ?? 0;

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
      <div className="segmented" role="tablist" aria-label="Reports or trash" style={{ marginBottom: 12 }}>
        <button
          type="button"
          role="tab"
          className={view === 'reports' ? 'on' : ''}
          aria-selected={view === 'reports'}
          onClick={() => setView('reports')}
          data-testid="reports-view"
        >
          Reports{reports.data ? ` (${reports.data.length})` : ''}
        </button>
        <button
          type="button"
          role="tab"
          className={view === 'trash' ? 'on' : ''}
          aria-selected={view === 'trash'}
          onClick={() => setView('trash')}
          data-testid="trash-view"
        >
          Trash{trashCount ? ` (${trashCount})` : ''}
        </button>
      </div>
      <FormError error={create.error ?? remove.error ?? restore.error} />

      {view === 'reports' ? (
        <>
          {reports.isPending ? <Loading /> : null}
          {reports.isError ? <ErrorBox error={reports.error} /> : null}
          {reports.data?.length === 0 ? (
            <div className="card empty">
              <h2>No reports yet</h2>
              <p className="muted">
                {canWrite ? 'Start one with “New report”; everyone in the team can edit it live.' : 'Reports written by this team will appear here.'}
              </p>
            </div>
          ) : null}
          {reports.data?.length ? (
            <ul className="card list">
              {reports.data.map((r) => (
                <ReportRow
                  key={r.id}
                  report={r}
                  href={`${base}/reports/${r.id}`}
                  projectId={projectId}
                  canWrite={canWrite}
                  onDelete={() => remove.mutate({ reportId: r.id })}
                  deleting={remove.isPending && remove.variables?.reportId === r.id}
                />
              ))}
            </ul>
          ) : null}
        </>
      ) : (
        <>
          {trash.isPending ? <Loading /> : null}
          {trash.isError ? <ErrorBox error={trash.error} /> : null}
          {trash.data?.length === 0 ? (
            <div className="card empty">
              <p className="muted">The trash is empty. Deleted reports wait here until someone restores them.</p>
            </div>
          ) : null}
          {trash.data?.length ? (
            <ul className="card list" data-testid="trash">
              {trash.data.map((r) => (
                <li key={r.id} data-testid="trash-row" data-report-id={r.id}>
                  <span className="list-link" data-testid="trash-title">
                    {r.title}
                  </span>
                  <span className="muted small" title={exactTime(r.deletedAt)}>
                    deleted {relativeTime(r.deletedAt)}
                  </span>
                  {canWrite ? (
                    <button
                      type="button"
                      className="btn btn-sm"
                      disabled={restore.isPending && restore.variables?.reportId === r.id}
                      onClick={() => restore.mutate({ reportId: r.id })}
                      data-testid="restore-report"
                    >
                      Restore
                    </button>
                  ) : null}
                </li>
              ))}
            </ul>
          ) : null}
        </>
      )}
    </section>
  );
}

function ReportRow({
  report,
  href,
  projectId,
  canWrite,
  onDelete,
  deleting,
}: {
  report: { id: string; title: string; updatedAt: string };
  href: string;
  projectId: string;
  canWrite: boolean;
  onDelete: () => void;
  deleting: boolean;
}) {
  const rename = useRenameReport(report.id, projectId);
  const { editing, trigger, start, done } = useRenameToggle();

  return (
    <li data-testid="report-row" data-report-id={report.id}>
      {editing ? (
        <span>
          <RenameInput value={report.title} label="Report title" save={rename} onDone={done} editing className="input input-sm" testId="report-rename-input" />
        </span>
      ) : (
        <Link className="list-link" href={href}>
          {report.title}
        </Link>
      )}
      <span className="muted small" title={exactTime(report.updatedAt)}>
        updated {relativeTime(report.updatedAt)}
      </span>
      {canWrite ? (
        <span className="row">
          {editing ? null : (
            <button ref={trigger} type="button" className="btn btn-sm" onClick={start} data-testid="rename-report">
              Rename
            </button>
          )}
          <button
            type="button"
            className="btn btn-sm btn-danger"
            disabled={deleting}
            onClick={onDelete}
            data-testid="delete-report"
            title="Move to the trash (restorable)"
          >
            Delete
          </button>
        </span>
      ) : null}
    </li>
  );
}
