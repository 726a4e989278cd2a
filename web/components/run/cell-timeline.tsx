// The run's executions, in execution order (the default: what really happened, re-runs and
// out-of-order runs marked) or in notebook order (grouped by cell, by last known position).
'use client';
import { useMemo } from 'react';
import { annotateExecutions, groupByCell, summarize } from '@/lib/timeline.ts';
import type { Outputs } from '@/lib/trpc.ts';
import { useNow } from '@/lib/use-now.ts';
import { CellView } from './cell-view.tsx';
import './cells.css';

type RunDetail = Outputs['runs']['get'];
export type CellOrder = 'execution' | 'notebook';

function OrderToggle({ order, onChange }: { order: CellOrder; onChange: (next: CellOrder) => void }) {
  const notebook = order === 'notebook';
  return (
    <button
      type="button"
      role="switch"
      aria-checked={notebook}
      aria-label="Notebook order"
      className="segmented"
      data-testid="order-toggle"
      data-order={order}
      onClick={() => onChange(notebook ? 'execution' : 'notebook')}
      title={notebook ? 'Show the executions in the order they ran' : 'Group the executions by notebook cell'}
    >
      <span aria-hidden="true" className={notebook ? undefined : 'on'}>
        Execution order
      </span>
      <span aria-hidden="true" className={notebook ? 'on' : undefined}>
        Notebook order
      </span>
    </button>
  );
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function CellTimeline({ data, order, onOrderChange }: { data: RunDetail; order: CellOrder; onOrderChange: (next: CellOrder) => void }) {
  const { cells, run } = data;
  const runLive = run.status === 'running';
  const now = useNow(1000, runLive && cells.some((c) => !c.endedAt));
  const notes = useMemo(() => annotateExecutions(cells), [cells]);
  const groups = useMemo(() => (order === 'notebook' ? groupByCell(cells) : []), [cells, order]);
  const summary = summarize(notes);

  const view = (cell: RunDetail['cells'][number]) => (
    <CellView key={cell.id} cell={cell} note={notes.get(cell.executionKey)} runId={run.id} now={now} runLive={runLive} />
  );

  return (
    <section className="section" aria-labelledby="cells-title">
      <div className="section-head">
        <h2 id="cells-title">Cells</h2>
        <span className="muted small" data-testid="timeline-summary">
          {plural(summary.executions, 'execution')} of {plural(summary.cells, 'cell')}
          {summary.reruns ? ` · ${plural(summary.reruns, 're-run')}` : ''}
          {summary.outOfOrder ? ` · ${summary.outOfOrder} out of order` : ''}
        </span>
        <span className="spacer" />
        {cells.length ? <OrderToggle order={order} onChange={onOrderChange} /> : null}
      </div>
      {cells.length === 0 ? (
        <div className="card empty">
          <p className="muted">No cells recorded yet. Executed cells appear here as they finish.</p>
        </div>
      ) : order === 'execution' ? (
        <div className="cells" data-testid="cells" data-order="execution">
          {/* the order runs.get returns is the real execution order */}
          {cells.map(view)}
        </div>
      ) : (
        <div className="cells" data-testid="cells" data-order="notebook">
          {groups.map((group) => (
            <section key={group.cellKey} className="cell-group" data-testid="cell-group" data-position={group.position ?? ''}>
              <h3 className="cell-group-head">
                {group.cellLabel ?? 'cell without id'}
                <span className="muted">
                  {group.executions.length > 1 ? ` · ran ${group.executions.length} times` : ' · ran once'}
                  {group.position === null ? ' · position unknown' : ''}
                </span>
              </h3>
              <div className="cells">{group.executions.map(view)}</div>
            </section>
          ))}
        </div>
      )}
    </section>
  );
}
