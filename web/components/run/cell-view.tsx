// One executed cell on the run page: [n], status, duration, source and outputs.
import { StatusBadge } from '@/components/status-badge.tsx';
import { durationBetween, exactTime, formatDuration } from '@/lib/format.ts';
import type { Outputs } from '@/lib/trpc.ts';
import { CellOutputs } from './cell-outputs.tsx';

type Cell = Outputs['runs']['get']['cells'][number];

export function CellView({ cell }: { cell: Cell }) {
  const count = cell.executionCount ?? null;
  return (
    <article
      className="cell"
      data-testid="cell"
      data-execution-count={count ?? ''}
      data-status={cell.status}
      data-cell-id={cell.cellId ?? ''}
    >
      <div className="cell-gutter" aria-label="execution count">
        [{count ?? ' '}]
      </div>
      <div className="cell-body">
        <div className="cell-head">
          <StatusBadge status={cell.status} />
          {cell.endedAt ? (
            <span title={`${exactTime(cell.startedAt)} → ${exactTime(cell.endedAt)}`}>
              {formatDuration(durationBetween(cell.startedAt, cell.endedAt))}
            </span>
          ) : (
            <span title={`started ${exactTime(cell.startedAt)}`}>running…</span>
          )}
          <span className="spacer" />
          {cell.cellId ? <span className="mono">cell {cell.cellId.slice(0, 8)}</span> : null}
        </div>
        <pre className="code" data-testid="cell-source">
          {cell.source || ' '}
        </pre>
        <CellOutputs cell={cell} />
      </div>
    </article>
  );
}
