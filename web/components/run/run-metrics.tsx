// The run page's metrics: every key the run logged, grouped by prefix (train/, val/, …, then
// the rest), one small chart each. Charts query only once scrolled near the viewport. The
// sampler's system/ keys are the System section's (run-system.tsx), not shown here.
'use client';
import { useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { MetricChart } from '@/components/charts/metric-chart.tsx';
import { ErrorBox } from '@/components/query-state.tsx';
import { runColor } from '@/lib/charts/colors.ts';
import { groupKeys } from '@/lib/charts/selection.ts';
import { isSystemKey } from '@/lib/charts/system-metrics.ts';
import { useTRPC } from '@/lib/trpc.ts';
import '@/components/charts/charts.css';

export function RunMetrics({ projectId, run }: { projectId: string; run: { id: string; name: string; status: string } }) {
  const trpc = useTRPC();
  const live = run.status === 'running';
  const keys = useQuery({ ...trpc.metrics.keys.queryOptions({ projectId, runIds: [run.id] }), refetchInterval: live ? 30_000 : false });
  const own = useMemo(() => (keys.data ?? []).filter((k) => !isSystemKey(k)), [keys.data]);
  const groups = useMemo(() => groupKeys(own), [own]);
  const runs = useMemo(() => [{ id: run.id, name: run.name, color: runColor(0) }], [run.id, run.name]);

  if (keys.isPending || (keys.data && own.length === 0)) return null;
  return (
    <section className="section" data-testid="metrics-section" aria-labelledby="metrics-title">
      <div className="section-head">
        <h2 id="metrics-title">Metrics</h2>
        {keys.data ? <span className="muted small">{own.length} keys</span> : null}
      </div>
      {keys.isError ? <ErrorBox error={keys.error} /> : null}
      {groups.map((group) => (
        <div key={group.prefix} className="chart-group" data-testid="metric-group" data-prefix={group.prefix}>
          {groups.length > 1 ? <h3>{group.prefix ? `${group.prefix}/` : 'Other'}</h3> : null}
          <div className="chart-grid chart-grid-small">
            {group.keys.map((key) => (
              <MetricChart key={key} projectId={projectId} metricKey={key} runs={runs} height={170} lazy live={live} syncKey={`run:${run.id}`} />
            ))}
          </div>
        </div>
      ))}
    </section>
  );
}
