// The project's Charts tab: pick runs (default: the 10 most recent) and metric keys, one chart
// per key, over steps, wall time or time since each run started. The choice lives in the URL
// (?tab=charts&runs=…&key=…&x=…) so a view can be shared.
'use client';
import { skipToken, useQuery } from '@tanstack/react-query';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useCallback, useMemo } from 'react';
import { ErrorBox, Loading } from '@/components/query-state.tsx';
import { runColor } from '@/lib/charts/colors.ts';
import { type ChartSelection, defaultKeys, defaultRuns, selectionFromQuery, selectionToQuery } from '@/lib/charts/selection.ts';
import { useTRPC } from '@/lib/trpc.ts';
import { type ChartRun, MetricChart } from './metric-chart.tsx';
import { KeyPicker, RunPicker } from './pickers.tsx';
import { useXAxis, XAxisToggle } from './x-axis-toggle.tsx';
import './charts.css';

/** Without a choice in the URL, up to this many of the user's own keys are charted (train/ first). */
const DEFAULT_KEY_COUNT = 12;

export function ChartsWorkspace({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const pathname = usePathname();
  const query = useSearchParams().toString();
  const selection = useMemo(() => selectionFromQuery(new URLSearchParams(query)), [query]);
  const [xAxis, setXAxis] = useXAxis();
  const runs = useQuery({ ...trpc.runs.list.queryOptions({ projectId }), refetchInterval: 30_000 });
  // runs chosen in the URL are looked up by id: they need not be on the recent runs' page
  const chosen = useQuery({
    ...trpc.runs.list.queryOptions(selection.runs?.length ? { projectId, filter: { runIds: selection.runs } } : skipToken),
    refetchInterval: 30_000,
  });
  const known = useMemo(() => {
    const recent = runs.data?.runs ?? [];
    const onPage = new Set(recent.map((r) => r.id));
    return [...(chosen.data?.runs ?? []).filter((r) => !onPage.has(r.id)), ...recent];
  }, [runs.data, chosen.data]);

  const runIds = useMemo(() => selection.runs ?? defaultRuns(runs.data?.runs ?? []), [selection.runs, runs.data]);
  const chartRuns = useMemo((): ChartRun[] => {
    const byId = new Map(known.map((r) => [r.id, r]));
    return runIds.map((id, i) => {
      const run = byId.get(id);
      return { id, name: run?.name ?? id.slice(0, 8), color: runColor(i), ...(run ? { startedAt: run.startedAt } : {}) };
    });
  }, [runIds, known]);
  const live = useMemo(() => known.some((r) => r.status === 'running' && runIds.includes(r.id)), [known, runIds]);

  const keys = useQuery(trpc.metrics.keys.queryOptions(runIds.length ? { projectId, runIds } : skipToken));
  const keyList = useMemo(() => keys.data ?? [], [keys.data]);
  const chosenKeys = useMemo(() => selection.keys ?? defaultKeys(keyList, DEFAULT_KEY_COUNT), [selection.keys, keyList]);

  const update = useCallback(
    (next: Partial<ChartSelection>) => {
      const q = selectionToQuery({ ...selection, ...next }, new URLSearchParams(query)).toString();
      router.replace(`${pathname}?${q}`, { scroll: false });
    },
    [selection, query, router, pathname],
  );
  const colorOf = useCallback((id: string) => chartRuns.find((r) => r.id === id)?.color, [chartRuns]);

  if (runs.isPending) return <Loading />;
  if (runs.isError) return <ErrorBox error={runs.error} />;
  return (
    <div data-testid="charts-workspace">
      <div className="charts-tools">
        <RunPicker runs={known} selected={runIds} colorOf={colorOf} onChange={(ids) => update({ runs: ids })} />
        <KeyPicker keys={keyList} selected={chosenKeys} onChange={(k) => update({ keys: k })} />
        {selection.runs === null ? <span className="muted small">the {runIds.length} most recent runs</span> : null}
        <span className="spacer" />
        <XAxisToggle value={xAxis} onChange={setXAxis} />
        {keys.isError ? <ErrorBox error={keys.error} /> : null}
      </div>
      {runIds.length === 0 ? (
        <div className="card empty">
          <p className="muted">Pick some runs to chart.</p>
        </div>
      ) : keys.isPending ? (
        <Loading />
      ) : chosenKeys.length === 0 ? (
        <div className="card empty">
          <p className="muted">{keyList.length ? 'Pick metrics to chart.' : 'These runs have logged no metrics yet.'}</p>
        </div>
      ) : (
        <div className="chart-grid">
          {chosenKeys.map((key) => (
            <MetricChart key={key} projectId={projectId} metricKey={key} runs={chartRuns} live={live} lazy syncKey={`project:${projectId}`} xAxis={xAxis} />
          ))}
        </div>
      )}
    </div>
  );
}
