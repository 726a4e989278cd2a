// The compare page's body: the chosen runs' metrics overlaid (keys every run logged first),
// their config side by side, and config against a summary metric in parallel coordinates.
'use client';
import { skipToken, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useMemo, useState } from 'react';
import { type ChartRun, MetricChart } from '@/components/charts/metric-chart.tsx';
import { useXAxis, XAxisToggle } from '@/components/charts/x-axis-toggle.tsx';
import { ErrorBox, Loading } from '@/components/query-state.tsx';
import { runColor } from '@/lib/charts/colors.ts';
import { keysByCoverage } from '@/lib/charts/selection.ts';
import { useTRPC } from '@/lib/trpc.ts';
import { ConfigDiffTable } from './config-diff-table.tsx';
import { ParallelCoords } from './parallel-coords.tsx';
import '@/components/charts/charts.css';
import './compare.css';

/** Keys every run logged show at once; the rest behind a button. */
export function CompareView({ projectId, base, runIds, onRemove }: { projectId: string; base: string; runIds: string[]; onRemove: (id: string) => void }) {
  const trpc = useTRPC();
  // the chosen runs by id, wherever they are in the project's order
  const list = useQuery({ ...trpc.runs.list.queryOptions(runIds.length ? { projectId, filter: { runIds } } : skipToken), refetchInterval: 30_000 });
  const [showAllKeys, setShowAllKeys] = useState(false);
  const [xAxis, setXAxis] = useXAxis();

  const rows = useMemo(() => {
    const byId = new Map((list.data?.runs ?? []).map((r) => [r.id, r]));
    return runIds.flatMap((id) => byId.get(id) ?? []).map((r, i) => ({ ...r, color: runColor(i), href: `${base}/runs/${r.id}` }));
  }, [list.data, runIds, base]);
  const missing = list.data ? runIds.filter((id) => !rows.some((r) => r.id === id)) : [];
  const chartRuns = useMemo((): ChartRun[] => rows.map((r) => ({ id: r.id, name: r.name, color: r.color, startedAt: r.startedAt })), [rows]);
  const coverage = useMemo(() => keysByCoverage(rows.map((r) => Object.keys(r.summary))), [rows]);
  const common = coverage.filter((k) => k.runs === rows.length);
  const partial = coverage.filter((k) => k.runs < rows.length);
  const live = rows.some((r) => r.status === 'running');

  if (runIds.length && list.isPending) return <Loading />;
  if (list.isError) return <ErrorBox error={list.error} />;
  if (rows.length < 2) {
    return (
      <div className="card empty">
        <p className="muted">Pick two or more runs in the runs table (tick their boxes, then “Compare”).</p>
        <Link className="btn btn-sm" href={base}>
          Back to runs
        </Link>
      </div>
    );
  }
  const chartKeys = [...common, ...(showAllKeys ? partial : [])];

  return (
    <>
      <ul className="compare-runs" data-testid="compare-runs">
        {rows.map((r) => (
          <li key={r.id} className="chip compare-chip" data-run-id={r.id}>
            <span className="swatch" style={{ background: r.color }} />
            <Link href={r.href}>{r.name}</Link>
            <button type="button" className="chip-remove" onClick={() => onRemove(r.id)} title="Leave out of the comparison" aria-label={`Remove ${r.name}`}>
              ×
            </button>
          </li>
        ))}
      </ul>
      {missing.length ? <p className="muted small">{missing.length} of the runs in this link no longer exist or are not in this project.</p> : null}

      <section className="section" aria-labelledby="compare-metrics">
        <div className="section-head">
          <h2 id="compare-metrics">Metrics</h2>
          <span className="muted small">
            {common.length} logged by every run{partial.length ? `, ${partial.length} by some` : ''}
          </span>
          <span className="spacer" />
          <XAxisToggle value={xAxis} onChange={setXAxis} />
          {partial.length ? (
            <button type="button" className="btn-link small" onClick={() => setShowAllKeys((v) => !v)} data-testid="compare-all-keys">
              {showAllKeys ? 'Only keys every run logged' : `Show ${partial.length} more`}
            </button>
          ) : null}
        </div>
        {chartKeys.length === 0 ? (
          <div className="card empty">
            <p className="muted">{coverage.length ? 'These runs have no metric in common.' : 'These runs have logged no metrics.'}</p>
          </div>
        ) : (
          <div className="chart-grid">
            {chartKeys.map(({ key }) => (
              <MetricChart
                key={key}
                projectId={projectId}
                metricKey={key}
                runs={chartRuns}
                lazy
                live={live}
                syncKey={`compare:${runIds.join(',')}`}
                xAxis={xAxis}
              />
            ))}
          </div>
        )}
      </section>

      <ConfigDiffTable runs={rows} />
      <ParallelCoords runs={rows} metricKeys={coverage.map((k) => k.key)} />
    </>
  );
}
