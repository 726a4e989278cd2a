// Run page header: name, status, tags and notes (editable by editors), the run's facts, and
// the runs it continues from / continues in after a kernel restart.
'use client';
import Link from 'next/link';
import type { ReactNode } from 'react';
import { RUN_STATUS_HINTS, StatusBadge } from '@/components/status-badge.tsx';
import { exactTime, formatDuration, relativeTime, runDurationMs } from '@/lib/format.ts';
import type { Outputs } from '@/lib/trpc.ts';
import { useNow } from '@/lib/use-now.ts';
import { RunName } from './run-name.tsx';
import { RunNotes } from './run-notes.tsx';
import { RunTags } from './run-tags.tsx';
import './run-header.css';

type RunDetail = Outputs['runs']['get'];

function kernelSide(kernel: Record<string, unknown> | null): string | null {
  if (!kernel) return null;
  const parts = [kernel.implementation, kernel.cellmarkVersion ? `cellmark ${String(kernel.cellmarkVersion)}` : null].filter(
    (p): p is string => typeof p === 'string' && p !== '',
  );
  return parts.join(', ') || 'active';
}

export function RunHeader({ data, base }: { data: RunDetail; base: string }) {
  const { run, cells, canWrite } = data;
  const now = useNow(1000, run.status === 'running');
  const duration = runDurationMs(run, now);
  const kernel = kernelSide(run.kernel);
  const facts: Array<[string, ReactNode]> = [
    [
      'Notebook',
      <span className="mono" key="nb">
        {run.notebookPath}
      </span>,
    ],
    ['User', run.user?.name ?? 'unknown'],
    [
      'Started',
      <span key="st" title={exactTime(run.startedAt)}>
        {relativeTime(run.startedAt, now)}
      </span>,
    ],
    ['Duration', duration === null ? '—' : formatDuration(duration)],
    ['Executions', cells.length],
  ];
  const at = (iso: string, key: string) => (
    <span key={key} title={exactTime(iso)}>
      {relativeTime(iso, now)}
    </span>
  );
  // when it ended (a crashed run: the kernel's last sign of life), or when its kernel was last heard from
  if (run.endedAt) facts.splice(3, 0, [run.status === 'crashed' ? 'Last heard from' : 'Ended', at(run.endedAt, 'end')]);
  else if (run.status === 'running' && run.kernelSeenAt) facts.splice(3, 0, ['Kernel heard from', at(run.kernelSeenAt, 'seen')]);
  if (run.kernelName) facts.splice(1, 0, ['Kernel', kernel ? `${run.kernelName} (${kernel})` : run.kernelName]);
  if (run.host) facts.push(['Host', run.host]);

  return (
    <header className="page-head run-head" data-testid="run-header">
      <div className="run-head-main">
        <div className="row">
          <RunName runId={run.id} name={run.name} canWrite={canWrite} />
          <StatusBadge status={run.status} title={RUN_STATUS_HINTS[run.status]} />
        </div>
        {run.previous || run.next ? (
          <div className="run-links" data-testid="run-links">
            {run.previous ? (
              <span data-testid="previous-run">
                ← Continues <Link href={`${base}/runs/${run.previous.id}`}>{run.previous.name}</Link> after a kernel restart
              </span>
            ) : null}
            {run.next ? (
              <span data-testid="next-run">
                Continued in <Link href={`${base}/runs/${run.next.id}`}>{run.next.name}</Link> after a kernel restart →
              </span>
            ) : null}
          </div>
        ) : null}
        <dl className="meta">
          {facts.map(([label, value]) => (
            <div key={label}>
              <dt>{label}</dt>
              <dd>{value}</dd>
            </div>
          ))}
        </dl>
        <RunTags runId={run.id} tags={run.tags} canWrite={canWrite} base={base} />
        <RunNotes runId={run.id} notes={run.notes} canWrite={canWrite} />
      </div>
    </header>
  );
}
