// The drawing half of every metric chart: lines (one per run, or per GPU on the run page's
// System section) on a uPlot canvas, each line through its buckets' last values with the
// min/max envelope shaded around it, gaps where values are NaN/±Infinity (marked under the
// plot), a legend, a hover tooltip, drag-zoom (the owner re-queries the zoomed range) and,
// on a time axis, shaded spans (the cells that ran then). What to draw comes from the owner:
// MetricChart (a key over runs) or SystemChart (keys of one run).
'use client';
import { type ReactNode, type RefObject, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { withAlpha } from '@/lib/charts/colors.ts';
import {
  alignSeries,
  type ChartColumns,
  envelopeBands,
  formatSteps,
  formatValue,
  seriesIndex,
  toUplotData,
  type WireSeries,
  zoomRange,
} from '@/lib/charts/series-data.ts';
import { STEP_INCRS, stepTicks } from '@/lib/charts/step-axis.ts';
import { DURATION_INCRS, formatRelative, type XAxisMode } from '@/lib/charts/time-axis.ts';
import { errorMessage } from '@/lib/errors.ts';
import { useDebounced, useElementWidth, useSeen } from './hooks.ts';
import { fillTooltip } from './tooltip.ts';
import './charts.css';

export interface ChartLine {
  id: string;
  name: string;
  color: string;
  /** dashed line (a limit or a total drawn beside what is used) */
  dashed?: boolean;
}

/** A time span to shade on a time axis (x units: epoch ms). */
export interface ChartSpan {
  id: string;
  from: number;
  to: number;
  label: string;
}

export interface ChartData {
  /** one per line, in line order (`runId` = line id) */
  series: WireSeries[];
  range: [number, number] | null;
  /** x units per pixel */
  perPixel: number;
  level?: number;
}

export interface ChartResult {
  data: ChartData | undefined;
  isError: boolean;
  error: unknown;
  isFetching: boolean;
  isPlaceholderData: boolean;
}

/** Room the y axis takes from the container; the rest are the pixels we ask buckets for. */
export const Y_AXIS_PX = 60;
/** uPlot padding right of the plot area. */
export const PLOT_PAD_RIGHT = 12;

export interface ChartFrame {
  wrapRef: RefObject<HTMLDivElement | null>;
  plotRef: RefObject<HTMLDivElement | null>;
  width: number;
  seen: boolean;
}

/** The chart's DOM refs, its width and whether it has come near the viewport. */
export function useChartFrame(lazy: boolean): ChartFrame {
  const wrapRef = useRef<HTMLDivElement>(null);
  const plotRef = useRef<HTMLDivElement>(null);
  const width = useElementWidth(plotRef);
  const seen = useSeen(wrapRef, lazy);
  return { wrapRef, plotRef, width, seen };
}

/**
 * The width (pixels to ask buckets for) and zoom range once they have settled: widths are
 * rounded to 10 px so a few pixels of resizing don't refetch, drags and resizes debounced.
 */
export function useSettledRequest(width: number, range: [number, number] | null): { width: number; range: [number, number] | null } {
  const queryWidth = width > 0 ? Math.max(50, Math.round((width - Y_AXIS_PX) / 10) * 10) : 0;
  // (a string, so an unchanged request is an unchanged value)
  const settledKey = useDebounced(`${queryWidth}|${range ? range.join(',') : ''}`, 250);
  return useMemo(() => {
    const [w, r] = settledKey.split('|');
    return { width: Number(w), range: r ? (r.split(',').map(Number) as [number, number]) : null };
  }, [settledKey]);
}

export function ChartCard({
  frame,
  title,
  dataKey,
  lines,
  result,
  xAxis,
  range,
  onRangeChange,
  height = 240,
  syncKey,
  spans,
  head,
  emptyText = 'No points logged for these runs.',
  testId = 'chart',
}: {
  frame: ChartFrame;
  title: string;
  /** data-key: the metric key (or the chart's id) */
  dataKey: string;
  lines: ChartLine[];
  result: ChartResult;
  xAxis: XAxisMode;
  /** the zoom range (x units); null: the whole extent */
  range: [number, number] | null;
  onRangeChange: (next: [number, number] | null) => void;
  height?: number;
  /** charts with the same key share the hover cursor */
  syncKey?: string | undefined;
  spans?: ChartSpan[] | undefined;
  /** more of the chart's head (beside the title) */
  head?: ReactNode;
  emptyText?: string;
  testId?: string;
}) {
  const { wrapRef, plotRef, width } = frame;
  const tipRef = useRef<HTMLDivElement>(null);
  const [log, setLog] = useState(false);
  const [hidden, setHidden] = useState<ReadonlySet<string>>(new Set());
  const { data } = result;

  const columns = useMemo(() => (data ? alignSeries(data.series, { log }) : null), [data, log]);
  // What the x axis shows: the zoom range at once (old data stretched) until finer data lands.
  const view = range ?? data?.range ?? null;

  const state = useRef({ columns, view, runs: lines, hidden, perPx: 1, xAxis, spans, onZoom: (_r: [number, number]) => {}, onReset: () => {} });
  state.current.columns = columns;
  state.current.view = view;
  state.current.runs = lines;
  state.current.hidden = hidden;
  state.current.perPx = data?.perPixel ?? 1;
  state.current.xAxis = xAxis;
  state.current.spans = spans;
  state.current.onZoom = (next) => onRangeChange(next);
  state.current.onReset = () => onRangeChange(null);

  const chartRef = useRef<uPlot | null>(null);
  const structure = `${lines.map((r) => `${r.id}:${r.color}:${r.dashed ? 1 : 0}`).join(',')}|${log}|${height}|${xAxis}`;
  const ready = width > 0;

  // (Re)create the plot when the lines, their colours, the scale, the axis or the height change.
  // biome-ignore lint/correctness/useExhaustiveDependencies: `structure` stands for lines/log/height/axis by value (read through `state`); syncKey never changes
  useEffect(() => {
    const el = plotRef.current;
    if (!el || !ready) return;
    const { runs: chartLines } = state.current;
    const xAxisOpts: uPlot.Axis =
      xAxis === 'time'
        ? { ...axisStyle, size: 44 } // time labels take two lines where the date changes
        : xAxis === 'relative'
          ? { ...axisStyle, size: 30, incrs: DURATION_INCRS, values: (_u, splits) => splits.map((v) => formatRelative(v)) }
          : {
              ...axisStyle,
              size: 30,
              // whole steps only: uPlot's own increments would put ticks at 0.2, 0.4, …
              incrs: [...STEP_INCRS],
              splits: (u, _axis, min, max) => stepTicks(min, max, u.bbox.width / devicePixelRatio),
              values: (_u, splits) => {
                const labels = formatSteps(splits);
                // what the axis reads, for tests (the labels are drawn on the canvas)
                if (wrapRef.current) wrapRef.current.dataset.xTicks = labels.join(' ');
                return labels;
              },
            };
    const opts: uPlot.Options = {
      width: el.clientWidth,
      height,
      ms: 1,
      legend: { show: false },
      padding: [8, PLOT_PAD_RIGHT, 0, 0],
      scales: { x: { time: xAxis === 'time' }, y: log ? { distr: 3, log: 10 } : {} },
      axes: [xAxisOpts, { ...axisStyle, size: Y_AXIS_PX, values: (_u, splits) => splits.map((v) => (v === null ? '' : formatValue(v))) }],
      series: [
        { label: 'x' },
        ...chartLines.flatMap((line): uPlot.Series[] => [
          { label: line.name, stroke: line.color, width: 1.5, spanGaps: false, ...(line.dashed ? { dash: [5, 4] } : {}) },
          { label: `${line.name} (min)`, stroke: 'transparent', width: 0, points: { show: false }, spanGaps: false },
          { label: `${line.name} (max)`, stroke: 'transparent', width: 0, points: { show: false }, spanGaps: false },
        ]),
      ],
      bands: envelopeBands(chartLines.length, (i) => withAlpha(chartLines[i]!.color, chartLines[i]!.dashed ? 0 : 0.16)),
      cursor: {
        drag: { x: true, y: false, setScale: false },
        points: { size: 6 },
        ...(syncKey ? { sync: { key: syncKey } } : {}),
        bind: {
          // double-click: back to the whole extent (a fresh query, or the cached one)
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
        drawClear: [(u) => drawSpans(u, state.current.spans)],
        draw: [(u) => drawNonFinite(u, state.current.columns, state.current.runs, state.current.hidden)],
      },
    };
    const cols = state.current.columns;
    const chart = new uPlot(opts, cols && cols.runs.length === chartLines.length ? toUplotData(cols) : emptyData(chartLines.length), el);
    chartRef.current = chart;
    applyView(chart, state.current.view);
    return () => {
      chart.destroy();
      chartRef.current = null;
    };
    // `structure` stands for lines/log/height/axis (read through `state`); syncKey never changes
  }, [structure, ready]);

  useEffect(() => {
    if (chartRef.current && width > 0) chartRef.current.setSize({ width, height });
  }, [width, height]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: the view by value, and `structure` because a rebuilt plot needs its data again
  useEffect(() => {
    const chart = chartRef.current;
    if (!chart || !columns || columns.runs.length !== lines.length) return;
    chart.batch(() => {
      chart.setData(toUplotData(columns), true);
      applyView(chart, view);
    });
    // the view by value: a new array with the same range must not reset the scales
  }, [columns, view?.[0], view?.[1], structure]);

  // spans change without new data (a cell finished): redraw
  const spanKey = spans?.map((s) => `${s.id}:${s.from}:${s.to}`).join(',') ?? '';
  // biome-ignore lint/correctness/useExhaustiveDependencies: spanKey is the spans by value: redraw when one changes, not on every render
  useEffect(() => {
    chartRef.current?.redraw(false, false);
  }, [spanKey]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `structure`: a rebuilt plot gets the hidden lines applied again
  useEffect(() => {
    const chart = chartRef.current;
    if (!chart) return;
    lines.forEach((line, i) => {
      const show = !hidden.has(line.id);
      const idx = seriesIndex(i);
      for (const s of [idx.line, idx.min, idx.max]) if (chart.series[s]?.show !== show) chart.setSeries(s, { show });
    });
  }, [hidden, lines, structure]);

  const toggle = useCallback(
    (id: string) =>
      setHidden((prev) => {
        const next = new Set(prev);
        if (!next.delete(id)) next.add(id);
        return next;
      }),
    [],
  );

  const empty = data && columns && columns.x.length === 0;
  const fetching = result.isFetching;
  const nonFinite = columns?.runs.reduce((n, r) => n + r.nonFinite.length, 0) ?? 0;
  const buckets = columns?.runs.reduce((n, r) => n + r.raw.filter((v) => v !== undefined).length, 0) ?? 0;

  return (
    <div
      className="card chart"
      ref={wrapRef}
      data-testid={testId}
      data-key={dataKey}
      data-state={result.isError ? 'error' : !data ? 'loading' : fetching ? 'refreshing' : empty ? 'empty' : 'ready'}
      aria-busy={!data && !result.isError}
      data-x-axis={xAxis}
      data-level={data?.level}
      data-steps-per-pixel={data?.perPixel}
      data-range={data?.range?.join(',') ?? ''}
      data-zoomed={range ? 'true' : 'false'}
      data-buckets={buckets}
      data-non-finite={nonFinite}
    >
      <div className="chart-head">
        <h3 className="mono chart-title" title={title}>
          {title}
        </h3>
        {head}
        {fetching ? <span className="muted small">loading…</span> : null}
        <span className="spacer" />
        {range ? (
          <button type="button" className="btn-link small" onClick={() => onRangeChange(null)} data-testid="chart-reset-zoom">
            Reset zoom
          </button>
        ) : null}
        <label className="chart-toggle small" title="Logarithmic y axis (values ≤ 0 are left out)">
          <input type="checkbox" checked={log} onChange={(e) => setLog(e.target.checked)} data-testid="chart-log" /> log
        </label>
      </div>
      <div className={`chart-plot${result.isPlaceholderData ? ' stale' : ''}`} title="Drag to zoom, double-click to zoom out">
        <div ref={plotRef} className="chart-canvas" data-testid="chart-canvas" style={{ height }} />
        <div ref={tipRef} className="chart-tip" hidden />
        {result.isError ? (
          <div className="chart-note alert alert-error">{errorMessage(result.error)}</div>
        ) : empty ? (
          <div className="chart-note muted">{range ? 'No points in this range.' : emptyText}</div>
        ) : !data ? (
          // until its data is in (or, lazily, until it is scrolled near), the plot's shape
          <div className="chart-skeleton" role="status" data-testid="chart-skeleton">
            <span className="sr-only">Loading chart {title}…</span>
          </div>
        ) : null}
      </div>
      <ul className="chart-legend" data-testid="chart-legend">
        {lines.map((line) => (
          <li key={line.id}>
            <button
              type="button"
              className={`legend-item${hidden.has(line.id) ? ' off' : ''}`}
              onClick={() => toggle(line.id)}
              title={hidden.has(line.id) ? 'Show' : 'Hide'}
              data-run-id={line.id}
            >
              <span className={`swatch${line.dashed ? ' swatch-dashed' : ''}`} style={{ background: line.color }} />
              {line.name}
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

const emptyData = (lineCount: number): uPlot.AlignedData => [[], ...Array.from({ length: lineCount * 3 }, () => [])];

function applyView(chart: uPlot, view: [number, number] | null) {
  if (!view) return;
  const [x0, x1] = view;
  chart.setScale('x', { min: x0, max: x1 > x0 ? x1 : x0 + 1 });
}

/** Shaded bands behind the lines where cells ran, each labelled at the top ("[7]"). */
function drawSpans(u: uPlot, spans: readonly ChartSpan[] | undefined) {
  if (!spans?.length) return;
  const { ctx } = u;
  const { left, top, width, height } = u.bbox;
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, width, height);
  ctx.clip();
  ctx.font = `${10 * devicePixelRatio}px system-ui, sans-serif`;
  ctx.textBaseline = 'top';
  spans.forEach((span, i) => {
    const x0 = u.valToPos(span.from, 'x', true);
    const x1 = Math.max(x0 + devicePixelRatio, u.valToPos(span.to, 'x', true));
    if (x1 < left || x0 > left + width) return;
    ctx.fillStyle = i % 2 ? 'rgba(79, 70, 229, 0.07)' : 'rgba(79, 70, 229, 0.12)';
    ctx.fillRect(x0, top, x1 - x0, height);
    ctx.fillStyle = 'rgba(79, 70, 229, 0.45)';
    ctx.fillRect(x0, top, devicePixelRatio, height);
    if (x1 - x0 > 18 * devicePixelRatio) {
      ctx.fillStyle = '#4f46e5';
      ctx.fillText(span.label, Math.max(left, x0) + 3 * devicePixelRatio, top + 2 * devicePixelRatio);
    }
  });
  ctx.restore();
}

/** Small ticks under the plot where a line's value is NaN or ±Infinity, in the line's colour. */
function drawNonFinite(u: uPlot, columns: ChartColumns | null, lines: readonly ChartLine[], hidden: ReadonlySet<string>) {
  if (!columns || columns.runs.length !== lines.length) return;
  const { ctx } = u;
  const { left, top, width, height } = u.bbox;
  const size = 5 * devicePixelRatio;
  ctx.save();
  columns.runs.forEach((run, i) => {
    if (hidden.has(run.runId) || !run.nonFinite.length) return;
    ctx.fillStyle = lines[i]!.color;
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
