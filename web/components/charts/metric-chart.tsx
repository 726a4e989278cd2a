// One metric of several runs: asks metrics.series for as many buckets as the chart has pixels
// and asks again, for the zoomed range only, after a drag-zoom (double-click zooms back out).
// The x axis is the logged step, wall time (the server buckets by time) or relative time
// (one wall-time query per run over its own window, shifted by the run's start here).
// Drawing is ChartCard's.
'use client';
import { keepPreviousData, skipToken, useQueries, useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import type { SeriesResponse } from '@/lib/charts/series-data.ts';
import { emptySeries, toRelative, windowOfRun, type XAxisMode } from '@/lib/charts/time-axis.ts';
import { useTRPC } from '@/lib/trpc.ts';
import { ChartCard, type ChartData, type ChartResult, useChartFrame, useSettledRequest } from './chart-card.tsx';

export interface ChartRun {
  id: string;
  name: string;
  color: string;
  /** ISO start: relative time counts from here */
  startedAt?: string;
}

type SeriesInput = { projectId: string; runIds: string[]; key: string; width: number; range?: [number, number]; xAxis?: 'step' | 'time'; share?: string };

/** metrics.series input; `xAxis` only when it is not the default step axis, `share` only on a shared page. */
export function seriesInput(input: SeriesInput): SeriesInput {
  const { xAxis, share, ...rest } = input;
  return { ...rest, ...(xAxis && xAxis !== 'step' ? { xAxis } : {}), ...(share ? { share } : {}) };
}

export function MetricChart({
  projectId,
  metricKey,
  runs,
  height = 240,
  lazy = false,
  live = false,
  syncKey,
  xAxis = 'step',
  share,
}: {
  projectId: string;
  metricKey: string;
  runs: ChartRun[];
  height?: number;
  /** query only once scrolled near the viewport */
  lazy?: boolean;
  /** some runs are still logging: refresh now and then */
  live?: boolean;
  /** charts with the same key share the hover cursor */
  syncKey?: string;
  xAxis?: XAxisMode;
  /** a report's share link: the series are read through it (a shared page has no account) */
  share?: string | undefined;
}) {
  const frame = useChartFrame(lazy);
  const [zoom, setZoom] = useState<{ axis: XAxisMode; range: [number, number] } | null>(null);
  // a zoom belongs to the axis it was made on
  const range = zoom && zoom.axis === xAxis ? zoom.range : null;
  const settled = useSettledRequest(frame.width, range);
  const enabled = frame.seen && settled.width > 0 && runs.length > 0;
  const shared = useSharedAxisSeries({
    projectId,
    metricKey,
    runs,
    xAxis,
    width: settled.width,
    range: settled.range,
    enabled: enabled && xAxis !== 'relative',
    live,
    share,
  });
  const relative = useRelativeSeries({
    projectId,
    metricKey,
    runs,
    width: settled.width,
    range: settled.range,
    enabled: enabled && xAxis === 'relative',
    live,
    share,
  });
  const result = xAxis === 'relative' ? relative : shared;

  return (
    <ChartCard
      frame={frame}
      title={metricKey}
      dataKey={metricKey}
      lines={runs}
      result={result}
      xAxis={xAxis}
      range={range}
      onRangeChange={(next) => setZoom(next ? { axis: xAxis, range: next } : null)}
      height={height}
      syncKey={syncKey ? `${syncKey}:${xAxis}` : undefined}
    />
  );
}

interface SeriesArgs {
  projectId: string;
  metricKey: string;
  runs: ChartRun[];
  width: number;
  range: [number, number] | null;
  enabled: boolean;
  live: boolean;
  share: string | undefined;
}

const refresh = (live: boolean) => ({ refetchInterval: live ? 30_000 : (false as const), staleTime: live ? 20_000 : 5 * 60_000 });

/** Step or wall time: one query for every run, the server places the buckets. */
function useSharedAxisSeries({ projectId, metricKey, runs, xAxis, width, range, enabled, live, share }: SeriesArgs & { xAxis: XAxisMode }): ChartResult {
  const trpc = useTRPC();
  const runIds = useMemo(() => runs.map((r) => r.id).sort(), [runs]);
  const query = useQuery({
    ...trpc.metrics.series.queryOptions(
      enabled
        ? seriesInput({ projectId, runIds, key: metricKey, width, xAxis: xAxis === 'time' ? 'time' : 'step', ...(range ? { range } : {}), share })
        : skipToken,
    ),
    placeholderData: keepPreviousData,
    ...refresh(live),
  });
  const data = useMemo((): ChartData | undefined => (query.data ? inLineOrder(query.data, runs) : undefined), [query.data, runs]);
  return { data, isError: query.isError, error: query.error, isFetching: query.isFetching, isPlaceholderData: query.isPlaceholderData };
}

/** Relative time: each run over its own wall-time window, shifted back by its start. */
function useRelativeSeries({ projectId, metricKey, runs, width, range, enabled, live, share }: SeriesArgs): ChartResult {
  const trpc = useTRPC();
  const queries = useQueries({
    queries: runs.map((run) => {
      const start = run.startedAt ? Date.parse(run.startedAt) : 0;
      return {
        ...trpc.metrics.series.queryOptions(
          enabled
            ? seriesInput({ projectId, runIds: [run.id], key: metricKey, width, xAxis: 'time', ...(range ? { range: windowOfRun(range, start) } : {}), share })
            : skipToken,
        ),
        placeholderData: keepPreviousData,
        ...refresh(live),
      };
    }),
  });
  const answers = queries.map((q) => q.data);
  const answersKey = queries.map((q) => q.dataUpdatedAt).join(',');
  // biome-ignore lint/correctness/useExhaustiveDependencies: answersKey (the answers' update times) stands for `answers`, a new array on every render
  const data = useMemo((): ChartData | undefined => {
    if (!answers.some(Boolean)) return undefined;
    const parts = runs.map((run, i) => {
      const answer = answers[i];
      const series = answer?.series[0];
      const answered = (answer?.range ?? null) as [number, number] | null;
      return {
        series: series ? { ...series, runId: run.id } : undefined,
        startMs: run.startedAt ? Date.parse(run.startedAt) : (answered?.[0] ?? 0),
        range: answered,
      };
    });
    const merged = toRelative(parts, width, range);
    return { ...merged, series: merged.series.map((s, i) => (s.runId === runs[i]!.id ? s : emptySeries(runs[i]!.id))) };
    // `answers` is a new array each render: answersKey says when a result changed
  }, [runs, width, range?.[0], range?.[1], answersKey]);
  const error = queries.find((q) => q.isError)?.error ?? null;
  return {
    data,
    isError: error !== null,
    error,
    isFetching: queries.some((q) => q.isFetching),
    isPlaceholderData: queries.some((q) => q.isPlaceholderData),
  };
}

/** The response's series in the chart's line order (the query sorts ids; placeholders may lack some). */
function inLineOrder(data: SeriesResponse, runs: readonly ChartRun[]): ChartData {
  const byId = new Map(data.series.map((s) => [s.runId, s]));
  const perPixel = (data as { perPixel?: number }).perPixel ?? data.stepsPerPixel;
  return { series: runs.map((r) => byId.get(r.id) ?? emptySeries(r.id)), range: data.range as [number, number] | null, perPixel, level: data.level };
}
