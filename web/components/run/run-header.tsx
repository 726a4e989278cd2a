// Run page header: name, status and the run's facts (notebook, user, timing, cells).
'use client';
import type { ReactNode } from 'react';
import { StatusBadge } from '@/components/status-badge.tsx';
import { exactTime, formatDuration, relativeTime, runDurationMs } from '@/lib/format.ts';
import type { Outputs } from '@/lib/trpc.ts';
import { useNow } from '@/lib/use-now.ts';

type RunDetail = Outputs['runs']['get'];

export function RunHeader({ data }: { data: RunDetail }) {
  const { run, cells } = data;
  const now = useNow(1000, run.status === 'running');
  const duration = runDurationMs(run, now);
  const facts: Array<[string, ReactNode]> = [
    ['Notebook', <span className="mono" key="nb">{run.notebookPath}</span>],
    ['User', run.user?.name ?? 'unknown'],
    ['Started', <span key="st" title={exactTime(run.startedAt)}>{relativeTime(run.startedAt, now)}</span>],
    ['Duration', duration === null ? '—' : formatDuration(duration)],
    ['Cells', cells.length],
  ];
  if (run.kernelName) facts.splice(1, 0, ['Kernel', run.kernelName]);
  if (run.host) facts.push(['Host', run.host]);

  return (
    <header className="page-head" data-testid="run-header">
      <div>
        <div className="row">
          <h1>{run.name}</h1>
          <StatusBadge status={run.status} />
        </div>
        <dl className="meta">
          {facts.map(([label, value]) => (
            <div key={label}>
              <dt>{label}</dt>
              <dd>{value}</dd>
            </div>
          ))}
        </dl>
      </div>
    </header>
  );
}
