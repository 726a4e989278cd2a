// One metric of several runs on a uPlot canvas: a line of last values per run with its min/max
// envelope shaded around it, gaps where values are NaN/±Infinity (marked on the x axis), a
// legend and a hover tooltip. It asks metrics.series for as many buckets as it has pixels and
// asks again, for the zoomed range only, after a drag-zoom (double-click zooms back out).
'use client';
import { keepPreviousData, skipToken, useQuery } from '@tanstack/react-query';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { withAlpha } from '@/lib/charts/colors.ts';
import {
  alignSeries,
  type ChartColumns,
  envelopeBands,
  formatSteps,
  formatValue,
  type SeriesResponse,
  seriesIndex,
  toUplotData,
  type WireSeries,
  zoomRange,
} from '@/lib/charts/series-data.ts';
import { errorMessage } from '@/lib/errors.ts';
import { useTRPC } from '@/lib/trpc.ts';
import { useDebounced, useElementWidth, useSeen } from './hooks.ts';
import { fillTooltip } from './tooltip.ts';

export interface ChartRun {
  id: string;
  name: string;
  color: string;
}

/** Room the y axis takes from the container; the rest are the pixels we ask buckets for. */
const Y_AXIS_PX = 60;

export function MetricChart({
  projectId,
  metricKey,
  runs,
  height = 240,
  lazy = false,
  live = false,
  syncKey,
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
}) {
  const trpc = useTRPC();
  const wrapRef = useRef<HTMLDivElement>(null);
  const plotRef = useRef<HTMLDivElement>(null);
  const tipRef = useRef<HTMLDivElement>(null);
  const width = useElementWidth(plotRef);
  const seen = useSeen(wrapRef, lazy);
  const [range, setRange] = useState<[number, number] | null>(null);
  const [log, setLog] = useState(false);
  const [hidden, setHidden] = useState<ReadonlySet<string>>(new Set());

  // Round the width so a few pixels of resizing don't refetch; debounce drags and resizes.
  const queryWidth = width > 0 ? Math.max(50, Math.round((width - Y_AXIS_PX) / 10) * 10) : 0;
  // (a string, so an unchanged request is an unchanged value)
  const settledKey = useDebounced(`${queryWidth}|${range ? range.join(',') : ''}`, 250);
  const settled = useMemo(() => {
    const [w, r] = settledKey.split('|');
    return { width: Number(w), range: r ? (r.split(',').map(Number) as [number, number]) : null };
  }, [settledKey]);
  const runIds = useMemo(() => runs.map((r) => r.id).sort(), [runs]);
  const series = useQuery({
    ...trpc.metrics.series.queryOptions(
      seen && settled.width > 0 && runIds.length
        ? { projectId, runIds, key: metricKey, width: settled.width, ...(settled.range ? { range: settled.range } : {}) }
        : skipToken,
    ),
    placeholderData: keepPreviousData,
    refetchInterval: live ? 30_000 : false,
    staleTime: live ? 20_000 : 5 * 60_000,
  });

  const columns = useMemo(() => (series.data ? alignSeries(inRunOrder(series.data, runs), { log }) : null), [series.data, runs, log]);
  // What the x axis shows: the zoom range at once (old data stretched) until finer data lands.
  const view = range ?? series.data?.range ?? null;

  const state = useRef({ columns, view, runs, hidden, perPx: 1, onZoom: (_r: [number, number]) => {}, onReset: () => {} });
  state.current.columns = columns;
  state.current.view = view;
  state.current.runs = runs;
  state.current.hidden = hidden;
  state.current.perPx = series.data?.stepsPerPixel ?? 1;
  state.current.onZoom = (next) => setRange(next);
  state.current.onReset = () => setRange(null);

  const chartRef = useRef<uPlot | null>(null);
  const structure = `${runs.map((r) => `${r.id}:${r.color}`).join(',')}|${log}|${height}`;
  const ready = width > 0;

  // (Re)create the plot when the runs, their colours, the scale or the height change.
  useEffect(() => {
    const el = plotRef.current;
    if (!el || !ready) return;
    const { runs: chartRuns } = state.current;
    const opts: uPlot.Options = {
      width: el.clientWidth,
      height,
      legend: { show: false },
      padding: [8, 12, 0, 0],
      scales: { x: { time: false }, y: log ? { distr: 3, log: 10 } : {} },
      axes: [
        { ...axisStyle, size: 30, values: (_u, splits) => formatSteps(splits) },
        { ...axisStyle, size: Y_AXIS_PX, values: (_u, splits) => splits.map((v) => (v === null ? '' : formatValue(v))) },
      ],
      series: [
        { label: 'step' },
        ...chartRuns.flatMap((run): uPlot.Series[] => [
          { label: run.name, stroke: run.color, width: 1.5, spanGaps: false },
          { label: `${run.name} (min)`, stroke: 'transparent', width: 0, points: { show: false }, spanGaps: false },
          { label: `${run.name} (max)`, stroke: 'transparent', width: 0, points: { show: false }, spanGaps: false },
        ]),
      ],
      bands: envelopeBands(chartRuns.length, (i) => withAlpha(chartRuns[i]!.color, 0.16)),
      cursor: {
        drag: { x: true, y: false, setScale: false },
        points: { size: 6 },
        ...(syncKey ? { sync: { key: syncKey } } : {}),
        bind: {
          // double-click: back to the whole run (a fresh query, or the cached one)
          dblclick: () => () => {
            state.current.onReset();
            return null;
          },
        },
      },
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 4) return;
            const next = zoomRange(u.posToVal(u.select.left, 'x'), u.posToVal(u.select.left + u.select.width, 'x'));
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            state.current.onZoom(next);
          },
        ],
        setCursor: [(u) => fillTooltip(u, tipRef.current, state.current)],
        draw: [(u) => drawNonFinite(u, state.current.columns, state.current.runs, state.current.hidden)],
      },
    };
    const cols = state.current.columns;
    const chart = new uPlot(opts, cols && cols.runs.length === chartRuns.length ? toUplotData(cols) : emptyData(chartRuns.length), el);
    chartRef.current = chart;
    applyView(chart, state.current.view);
    return () => {
      chart.destroy();
      chartRef.current = null;
    };
    // `structure` stands for runs/log/height (read through `state`); syncKey never changes
  }, [structure, ready]);

  useEffect(() => {
    if (chartRef.current && width > 0) chartRef.current.setSize({ width, height });
  }, [width, height]);

  useEffect(() => {
    const chart = chartRef.current;
    if (!chart || !columns || columns.runs.length !== runs.length) return;
    chart.batch(() => {
      chart.setData(toUplotData(columns), true);
      applyView(chart, view);
    });
    // the view by value: a new array with the same range must not reset the scales
  }, [columns, view?.[0], view?.[1], structure]);

  useEffect(() => {
    const chart = chartRef.current;
    if (!chart) return;
    runs.forEach((run, i) => {
      const show = !hidden.has(run.id);
      const idx = seriesIndex(i);
      for (const s of [idx.line, idx.min, idx.max]) if (chart.series[s]?.show !== show) chart.setSeries(s, { show });
    });
  }, [hidden, runs, structure]);

  const toggle = useCallback(
    (id: string) =>
      setHidden((prev) => {
        const next = new Set(prev);
        if (!next.delete(id)) next.add(id);
        return next;
      }),
    [],
  );

  const empty = series.data && columns && columns.x.length === 0;
  const fetching = series.isFetching;
  const nonFinite = columns?.runs.reduce((n, r) => n + r.nonFinite.length, 0) ?? 0;
  const buckets = columns?.runs.reduce((n, r) => n + r.raw.filter((v) => v !== undefined).length, 0) ?? 0;

  return (
    <div
      className="card chart"
      ref={wrapRef}
      data-testid="chart"
      data-key={metricKey}
      data-state={series.isError ? 'error' : !series.data ? 'loading' : fetching ? 'refreshing' : empty ? 'empty' : 'ready'}
      data-level={series.data?.level}
      data-steps-per-pixel={series.data?.stepsPerPixel}
      data-range={series.data?.range?.join(',') ?? ''}
      data-zoomed={range ? 'true' : 'false'}
      data-buckets={buckets}
      data-non-finite={nonFinite}
    >
      <div className="chart-head">
        <h3 className="mono chart-title" title={metricKey}>
          {metricKey}
        </h3>
        {fetching ? <span className="muted small">loading…</span> : null}
        <span className="spacer" />
        {range ? (
          <button type="button" className="btn-link small" onClick={() => setRange(null)} data-testid="chart-reset-zoom">
            Reset zoom
          </button>
        ) : null}
        <label className="chart-toggle small" title="Logarithmic y axis (values ≤ 0 are left out)">
          <input type="checkbox" checked={log} onChange={(e) => setLog(e.target.checked)} data-testid="chart-log" /> log
        </label>
      </div>
      <div className={`chart-plot${series.isPlaceholderData ? ' stale' : ''}`} title="Drag to zoom, double-click to zoom out">
        <div ref={plotRef} className="chart-canvas" data-testid="chart-canvas" style={{ height }} />
        <div ref={tipRef} className="chart-tip" hidden />
        {series.isError ? (
          <div className="chart-note alert alert-error">{errorMessage(series.error)}</div>
        ) : empty ? (
          <div className="chart-note muted">{range ? 'No points in this range.' : 'No points logged for these runs.'}</div>
        ) : !series.data && seen ? (
          <div className="chart-note muted">Loading…</div>
        ) : null}
      </div>
      <ul className="chart-legend" data-testid="chart-legend">
        {runs.map((run) => (
          <li key={run.id}>
            <button type="button" className={`legend-item${hidden.has(run.id) ? ' off' : ''}`} onClick={() => toggle(run.id)} title={hidden.has(run.id) ? 'Show' : 'Hide'} data-run-id={run.id}>
              <span className="swatch" style={{ background: run.color }} />
              {run.name}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}

const axisStyle: uPlot.Axis = {
  stroke: '#71717a',
  font: '11px system-ui, sans-serif',
  grid: { stroke: '#f0f0f2', width: 1 },
  ticks: { stroke: '#e4e4e7', width: 1, size: 4 },
};

const emptyData = (runCount: number): uPlot.AlignedData => [[], ...Array.from({ length: runCount * 3 }, () => [])];

/** The response's series in the chart's run order (the query sorts ids; placeholders may lack some). */
function inRunOrder(data: SeriesResponse, runs: readonly ChartRun[]): WireSeries[] {
  const byId = new Map(data.series.map((s) => [s.runId, s]));
  return runs.map((r) => byId.get(r.id) ?? { runId: r.id, x: [], min: [], max: [], last: [], lastStep: [], count: [], nonFinite: [] });
}

function applyView(chart: uPlot, view: [number, number] | null) {
  if (!view) return;
  const [x0, x1] = view;
  chart.setScale('x', { min: x0, max: x1 > x0 ? x1 : x0 + 1 });
}

/** Small ticks under the plot where a run's value is NaN or ±Infinity, in the run's colour. */
function drawNonFinite(u: uPlot, columns: ChartColumns | null, runs: readonly ChartRun[], hidden: ReadonlySet<string>) {
  if (!columns || columns.runs.length !== runs.length) return;
  const { ctx } = u;
  const { left, top, width, height } = u.bbox;
  const size = 5 * devicePixelRatio;
  ctx.save();
  columns.runs.forEach((run, i) => {
    if (hidden.has(run.runId) || !run.nonFinite.length) return;
    ctx.fillStyle = runs[i]!.color;
    ctx.beginPath();
    for (const idx of run.nonFinite) {
      const x = u.valToPos(columns.x[idx]!, 'x', true);
      if (x < left - 1 || x > left + width + 1) continue;
      const y = top + height;
      ctx.moveTo(x, y - size * 1.4);
      ctx.lineTo(x - size / 2, y);
      ctx.lineTo(x + size / 2, y);
      ctx.closePath();
    }
    ctx.fill();
  });
  ctx.restore();
}
