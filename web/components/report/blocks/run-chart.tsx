// The run chart block: project runs (an explicit list, or the N most recent runs matching a
// saved runs-table filter) × metric keys, one full-fidelity chart per key — the same
// MetricChart as the Charts tab, refreshing while runs log. All settings are node attributes.
'use client';
import { skipToken, useQuery } from '@tanstack/react-query';
import { mergeAttributes, Node } from '@tiptap/core';
import { type NodeViewProps, ReactNodeViewRenderer } from '@tiptap/react';
import { type ReactNode, useCallback, useMemo, useState } from 'react';
import { type ChartRun, MetricChart } from '@/components/charts/metric-chart.tsx';
import { KeyPicker, RunPicker } from '@/components/charts/pickers.tsx';
import { ErrorBox, Loading } from '@/components/query-state.tsx';
import { runColor } from '@/lib/charts/colors.ts';
import { MAX_CHART_RUNS } from '@/lib/charts/selection.ts';
import { filtersFromQuery, hasFilters, toApiFilter } from '@/lib/run-filters.ts';
import { useTRPC } from '@/lib/trpc.ts';
import { useReportContext } from '../report-context.tsx';
import { blockIdAttribute, isStringArray, jsonAttribute, type ReportBlock } from './block.ts';
import { BlockFrame } from './block-frame.tsx';
import { clampLimit, DEFAULT_FILTER_LIMIT, normalizeFilter, type RunChartSettings, settingsOf } from './run-chart-settings.ts';
import '@/components/charts/charts.css';

function RunChartView(props: NodeViewProps) {
  // on a shared page (`share`) every read goes through the link: reportShares.runs lists what
  // this report charts (a filter block's runs by its own settings), and keys are not asked for
  const { projectId, reportId, share } = useReportContext();
  const trpc = useTRPC();
  const settings = settingsOf(props.node.attrs);
  const update = useCallback((next: Partial<RunChartSettings>) => props.updateAttributes(next), [props]);
  const apiFilter = useMemo(() => toApiFilter(filtersFromQuery(new URLSearchParams(settings.filter))), [settings.filter]);
  const isFilter = settings.source === 'filter';

  // Every run (for names, statuses and the picker) — and, for a filter, the matching ones.
  const memberRuns = useQuery({ ...trpc.runs.list.queryOptions(share ? skipToken : { projectId, limit: 1000 }), refetchInterval: 30_000 });
  const memberMatching = useQuery({
    ...trpc.runs.list.queryOptions(
      !share && isFilter ? { projectId, filter: apiFilter, sort: { by: 'startedAt', dir: 'desc' }, limit: settings.limit } : skipToken,
    ),
    refetchInterval: 30_000,
  });
  const sharedRuns = useQuery({ ...trpc.reportShares.runs.queryOptions(share ? { token: share } : skipToken), refetchInterval: 30_000 });
  const sharedMatching = useQuery({
    ...trpc.reportShares.runs.queryOptions(share && isFilter ? { token: share, filter: settings.filter, limit: settings.limit } : skipToken),
    refetchInterval: 30_000,
  });
  const allRuns = share ? sharedRuns : memberRuns;
  const matching = share ? sharedMatching : memberMatching;

  const runIds = useMemo(
    () => (settings.source === 'filter' ? (matching.data?.runs ?? []).map((r) => r.id) : settings.runIds),
    [settings.source, settings.runIds, matching.data],
  );
  const chartRuns = useMemo((): ChartRun[] => {
    const byId = new Map([...(allRuns.data?.runs ?? []), ...(matching.data?.runs ?? [])].map((r) => [r.id, r]));
    return runIds.map((id, i) => ({ id, name: byId.get(id)?.name ?? id.slice(0, 8), color: runColor(i) }));
  }, [runIds, allRuns.data, matching.data]);
  const live = useMemo(() => {
    const running = new Set([...(allRuns.data?.runs ?? []), ...(matching.data?.runs ?? [])].filter((r) => r.status === 'running').map((r) => r.id));
    return runIds.some((id) => running.has(id));
  }, [allRuns.data, matching.data, runIds]);
  // only the settings form lists keys, and a shared page has no settings
  const keys = useQuery(trpc.metrics.keys.queryOptions(runIds.length && !share ? { projectId, runIds } : skipToken));
  const colorOf = useCallback((id: string) => chartRuns.find((r) => r.id === id)?.color, [chartRuns]);

  const summary =
    settings.source === 'filter'
      ? `${runIds.length} run${runIds.length === 1 ? '' : 's'} matching ${settings.filter ? decodeURIComponent(settings.filter.replaceAll('+', ' ')) : 'any filter'}`
      : `${runIds.length} run${runIds.length === 1 ? '' : 's'}`;

  const settingsUi = (
    <RunChartSettingsForm
      key={settings.filter}
      blockId={String(props.node.attrs.blockId)}
      settings={settings}
      update={update}
      runs={allRuns.data?.runs ?? []}
      runIds={runIds}
      colorOf={colorOf}
      keys={keys.data ?? []}
      matchingCount={matching.data?.runs.length}
    />
  );

  let body: ReactNode;
  if (allRuns.isPending || (settings.source === 'filter' && matching.isPending)) body = <Loading />;
  else if (allRuns.isError) body = <ErrorBox error={allRuns.error} />;
  else if (matching.isError) body = <ErrorBox error={matching.error} />;
  else if (runIds.length === 0) body = <p className="muted small">{settings.source === 'filter' ? 'No runs match this filter yet.' : 'No runs chosen yet.'}</p>;
  else if (settings.keys.length === 0) body = <p className="muted small">No metrics chosen yet.</p>;
  else
    body = (
      <div className="chart-grid report-chart-grid">
        {settings.keys.map((key) => (
          <MetricChart
            key={key}
            projectId={projectId}
            metricKey={key}
            runs={chartRuns}
            live={live}
            lazy
            height={220}
            syncKey={`report:${reportId}:${String(props.node.attrs.blockId)}`}
            share={share}
          />
        ))}
      </div>
    );

  return (
    <BlockFrame props={props} label="Run chart" summary={summary} settings={settingsUi}>
      <div data-testid="run-chart-block" data-source={settings.source} data-runs={runIds.join(',')} data-keys={settings.keys.join(',')}>
        {body}
      </div>
    </BlockFrame>
  );
}

function RunChartSettingsForm({
  blockId,
  settings,
  update,
  runs,
  runIds,
  colorOf,
  keys,
  matchingCount,
}: {
  blockId: string;
  settings: RunChartSettings;
  update: (next: Partial<RunChartSettings>) => void;
  runs: { id: string; name: string; status: string; startedAt: string }[];
  runIds: string[];
  colorOf: (id: string) => string | undefined;
  keys: string[];
  matchingCount: number | undefined;
}) {
  const [filterDraft, setFilterDraft] = useState(settings.filter);
  const [filterError, setFilterError] = useState<string | null>(null);
  const applyFilter = () => {
    const normalized = normalizeFilter(filterDraft);
    if (filterDraft.trim() && !normalized) {
      setFilterError('No runs-table filter found. Paste the runs table link after filtering it, e.g. …?status=finished&tag=baseline');
      return;
    }
    setFilterError(null);
    setFilterDraft(normalized);
    update({ filter: normalized });
  };
  const filterOk = hasFilters(filtersFromQuery(new URLSearchParams(settings.filter)));
  return (
    <div className="report-block-form">
      <fieldset className="row" data-testid="block-source">
        <legend className="small muted">Runs</legend>
        <label className="row small">
          <input type="radio" name={`source-${blockId}`} checked={settings.source === 'runs'} onChange={() => update({ source: 'runs' })} value="runs" />
          Chosen runs
        </label>
        <label className="row small">
          <input type="radio" name={`source-${blockId}`} checked={settings.source === 'filter'} onChange={() => update({ source: 'filter' })} value="filter" />
          Runs matching a filter (updates as new runs match)
        </label>
      </fieldset>
      {settings.source === 'runs' ? (
        <RunPicker runs={runs} selected={settings.runIds} colorOf={colorOf} onChange={(ids) => update({ runIds: ids })} />
      ) : (
        <div className="report-filter">
          <input
            className="input input-sm"
            value={filterDraft}
            placeholder="Runs table link or filter, e.g. status=finished&tag=baseline"
            aria-label="Runs filter"
            onChange={(e) => setFilterDraft(e.target.value)}
            onBlur={applyFilter}
            onKeyDown={(e) => {
              if (e.key === 'Enter') {
                e.preventDefault();
                applyFilter();
              }
            }}
            data-testid="block-filter"
          />
          <label className="small row">
            most recent
            <input
              className="input input-sm input-narrow"
              type="number"
              min={1}
              max={MAX_CHART_RUNS}
              value={settings.limit}
              onChange={(e) => update({ limit: clampLimit(e.target.value) })}
              aria-label="Most recent runs"
              data-testid="block-filter-limit"
            />
          </label>
          <span className="muted small">{filterOk ? `${matchingCount ?? '…'} matching` : 'no filter: the most recent runs'}</span>
          {filterError ? (
            <p className="error-text small" role="alert">
              {filterError}
            </p>
          ) : null}
        </div>
      )}
      <KeyPicker keys={keys} selected={settings.keys} onChange={(k) => update({ keys: k })} />
      {runIds.length === 0 ? <span className="muted small">Choose runs to see their metric keys.</span> : null}
    </div>
  );
}

const node = Node.create({
  name: 'runChart',
  group: 'block',
  atom: true,
  draggable: true,
  selectable: true,
  addAttributes() {
    return {
      blockId: blockIdAttribute,
      source: {
        default: 'runs',
        parseHTML: (el) => (el.getAttribute('data-source') === 'filter' ? 'filter' : 'runs'),
        renderHTML: (a) => ({ 'data-source': a.source }),
      },
      runIds: jsonAttribute('run-ids', [] as string[], isStringArray),
      filter: { default: '', parseHTML: (el) => el.getAttribute('data-filter') ?? '', renderHTML: (a) => ({ 'data-filter': a.filter }) },
      limit: {
        default: DEFAULT_FILTER_LIMIT,
        parseHTML: (el) => clampLimit(el.getAttribute('data-limit')),
        renderHTML: (a) => ({ 'data-limit': String(a.limit) }),
      },
      keys: jsonAttribute('keys', [] as string[], isStringArray),
    };
  },
  parseHTML() {
    return [{ tag: 'div[data-block="runChart"]' }];
  },
  renderHTML({ HTMLAttributes }) {
    return ['div', mergeAttributes({ 'data-block': 'runChart' }, HTMLAttributes)];
  },
  addNodeView() {
    return ReactNodeViewRenderer(RunChartView);
  },
});

export const runChartBlock: ReportBlock = {
  name: 'runChart',
  label: 'Run chart',
  node,
  initialAttrs: () => ({ source: 'runs', runIds: [], filter: '', limit: DEFAULT_FILTER_LIMIT, keys: [] }),
};
