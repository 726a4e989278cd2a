// One execution on the run page: [n], status, duration, re-run / out-of-order markers, which
// capture paths recorded it, source and outputs. Its id is the target of config links.
import { StatusBadge } from '@/components/status-badge.tsx';
import { durationBetween, exactTime, formatDuration } from '@/lib/format.ts';
import { type ExecutionNote, outOfOrderText, rerunText } from '@/lib/timeline.ts';
import type { Outputs } from '@/lib/trpc.ts';
import { CellOutputs } from './cell-outputs.tsx';
import './cells.css';

type Cell = Outputs['runs']['get']['cells'][number];

export const executionAnchor = (executionKey: string) => `exec-${executionKey}`;
export const executionHref = (executionKey: string) => `#${encodeURIComponent(executionAnchor(executionKey))}`;

const PATHS: Record<string, string> = {
  kernel: 'kernel: recorded inside the Python kernel (exact timing, config)',
  frontend: 'frontend: recorded by JupyterLab (outputs, notebook position)',
};

function Duration({ cell, now, runLive }: { cell: Cell; now: number; runLive: boolean }) {
  if (cell.endedAt) {
    const ms = durationBetween(cell.startedAt, cell.endedAt);
    // start and end can come from different clocks (kernel vs. browser) when only one path saw the end
    return (
      <span
        className="cell-duration"
        title={`${exactTime(cell.startedAt)} → ${exactTime(cell.endedAt)}${ms < 0 ? ' (the end was recorded on a clock behind the start)' : ''}`}
      >
        {ms < 0 ? '—' : formatDuration(ms)}
      </span>
    );
  }
  // a run that ended with this cell unfinished (kernel died, browser closed) is not "running"
  if (!runLive) {
    return (
      <span className="cell-duration" title={`started ${exactTime(cell.startedAt)}; no end was recorded before the run ended`}>
        no end recorded
      </span>
    );
  }
  return (
    <span className="cell-duration" title={`started ${exactTime(cell.startedAt)}`}>
      running… {formatDuration(Math.max(0, now - Date.parse(cell.startedAt)))}
    </span>
  );
}

export function CellView({ cell, note, runId, now, runLive }: { cell: Cell; note: ExecutionNote | undefined; runId: string; now: number; runLive: boolean }) {
  const count = cell.executionCount ?? null;
  const rerun = note ? rerunText(note) : null;
  const outOfOrder = note ? outOfOrderText(note) : null;
  return (
    <article
      className="cell"
      id={executionAnchor(cell.executionKey)}
      data-testid="cell"
      data-execution-count={count ?? ''}
      data-status={cell.status}
      data-cell-id={cell.cellId ?? ''}
      data-position={cell.position ?? ''}
      data-execution-key={cell.executionKey}
    >
      <div className="cell-gutter" title="execution count">
        [{count ?? ' '}]
      </div>
      <div className="cell-body">
        <div className="cell-head">
          <StatusBadge status={cell.status} />
          <Duration cell={cell} now={now} runLive={runLive} />
          {rerun ? (
            <span className="marker marker-rerun" data-testid="rerun-marker" data-run-number={note!.runNumber}>
              ↻ {rerun}
            </span>
          ) : null}
          {outOfOrder && note?.ranAfter ? (
            <a
              className="marker marker-order"
              data-testid="out-of-order-marker"
              href={executionHref(note.ranAfter.executionKey)}
              title="this cell sits above the cell that ran just before it"
            >
              ↑ {outOfOrder}
            </a>
          ) : null}
          <span className="spacer" />
          {note?.cellLabel ? <span title={cell.cellId ? `cell id ${cell.cellId}` : undefined}>{note.cellLabel}</span> : null}
          <span className="captured-by" data-testid="captured-by" title={cell.capturedBy.map((p) => PATHS[p] ?? p).join('\n')}>
            via {cell.capturedBy.join(' + ') || 'unknown'}
          </span>
        </div>
        <pre className="code" data-testid="cell-source">
          {cell.source || ' '}
        </pre>
        <CellOutputs cell={cell} runId={runId} />
      </div>
    </article>
  );
}
