// The run page's System section: the kernel side's samples (GPU, CPU, RAM, disk, network) as
// charts on one wall-time axis shared with the run's cells — a strip of executions above the
// charts and each execution's span shaded inside every chart — so "cell 7 ran from here to
// here" sits over the GPU curve. Zooming one chart zooms them all (and the strip).
'use client';
import { keepPreviousData, skipToken, useQueries, useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import {
  ChartCard,
  type ChartData,
  type ChartLine,
  type ChartResult,
  type ChartSpan,
  PLOT_PAD_RIGHT,
  useChartFrame,
  useSettledRequest,
  Y_AXIS_PX,
} from '@/components/charts/chart-card.tsx';
import { seriesInput } from '@/components/charts/metric-chart.tsx';
import { type ExecutionSpan, executionSpans, runWindow, type SystemChartSpec, spanPosition, systemCharts } from '@/lib/charts/system-metrics.ts';
import { emptySeries, formatRelative } from '@/lib/charts/time-axis.ts';
import { type Environment, readEnvironment } from '@/lib/environment.ts';
import type { Outputs } from '@/lib/trpc.ts';
import { useTRPC } from '@/lib/trpc.ts';
import { useNow } from '@/lib/use-now.ts';
import { executionHref } from './cell-view.tsx';
import './run-system.css';
import '@/components/charts/charts.css';

type RunDetail = Outputs['runs']['get'];

export function RunSystem({ data }: { data: RunDetail }) {
  const trpc = useTRPC();
  const { run, cells } = data;
  const projectId = data.project.id;
  const live = run.status === 'running';
  const keys = useQuery({ ...trpc.metrics.keys.queryOptions({ projectId, runIds: [run.id] }), refetchInterval: live ? 30_000 : false });
  const charts = useMemo(() => systemCharts(keys.data ?? []), [keys.data]);
  const now = useNow(15_000, live);
  const spans = useMemo(() => executionSpans(cells, now), [cells, now]);
  const whole = useMemo(() => runWindow(run, spans, now), [run, spans, now]);
  const [zoom, setZoom] = useState<[number, number] | null>(null);
  const view = zoom ?? whole;
  const env = useMemo(() => readEnvironment(run.environment), [run.environment]);
  const chartSpans = useMemo((): ChartSpan[] => spans.map((s) => ({ id: s.id, from: s.from, to: s.to, label: s.label })), [spans]);

  if (!charts.length) return null;
  const gpuCharts = charts.some((c) => c.id.startsWith('gpu-'));
  const gpuModels = summarizeGpus(env?.gpus ?? []);
  return (
    <section className="section" data-testid="system-section" aria-labelledby="system-title">
      <div className="section-head">
        <h2 id="system-title">System</h2>
        {gpuModels ? (
          <span className="muted small" data-testid="system-gpu-model">
            {gpuModels}
          </span>
        ) : null}
        {env?.gpuSampling?.source ? (
          <span className="muted small" data-testid="system-sampling">
            sampled {env.gpuSampling.intervalSeconds ? `every ${env.gpuSampling.intervalSeconds} s ` : ''}via {env.gpuSampling.source}
          </span>
        ) : null}
        <span className="spacer" />
        {zoom ? (
          <button type="button" className="btn-link small" onClick={() => setZoom(null)} data-testid="system-reset-zoom">
            Whole run
          </button>
        ) : null}
      </div>
      {gpuNote(env, gpuCharts) ? (
        <p className={`small ${gpuCharts ? 'muted' : 'system-note'}`} data-testid="system-gpu-note">
          {gpuNote(env, gpuCharts)}
        </p>
      ) : null}
      <ExecutionStrip spans={spans} view={view} />
      <div className="chart-grid chart-grid-wide">
        {charts.map((spec) => (
          <SystemChart
            key={spec.id}
            projectId={projectId}
            runId={run.id}
            spec={spec}
            window={view}
            zoomed={zoom !== null}
            onZoom={setZoom}
            spans={chartSpans}
            live={live}
          />
        ))}
      </div>
    </section>
  );
}

/** Why there are no GPU charts (the sampler's reason first, then the inventory's), or a probe's complaint beside them. */
function gpuNote(env: Environment | null, gpuCharts: boolean): string | null {
  const why = env?.gpuSampling?.error ?? env?.gpuError ?? null;
  if (!why) return null;
  return gpuCharts ? `GPU probe: ${why}` : `No GPU charts: ${why}`;
}

/** "2 × NVIDIA H100 80GB HBM3 · driver 550.54.15 · CUDA 12.4" */
function summarizeGpus(gpus: ReadonlyArray<{ name: string | null; driver: string | null; cuda: string | null }>): string {
  if (!gpus.length) return '';
  const names = new Map<string, number>();
  for (const g of gpus) names.set(g.name ?? 'unknown GPU', (names.get(g.name ?? 'unknown GPU') ?? 0) + 1);
  const models = [...names].map(([name, n]) => (n > 1 ? `${n} × ${name}` : name)).join(', ');
  const driver = gpus.find((g) => g.driver)?.driver;
  const cuda = gpus.find((g) => g.cuda)?.cuda;
  return [models, driver ? `driver ${driver}` : null, cuda ? `CUDA ${cuda}` : null].filter(Boolean).join(' · ');
}

/** The executions as blocks on the charts' time axis (same insets as a chart's plot area); each links to its cell. */
function ExecutionStrip({ spans, view }: { spans: ExecutionSpan[]; view: [number, number] }) {
  return (
    // aria-label needs a role to be read.
    // biome-ignore lint/a11y/useSemanticElements: a fieldset brings a border, padding and min-inline-size: min-content that break this layout
    <div className="card system-strip-card" role="group" aria-label="Cells over time">
      <div className="system-strip" data-testid="system-timeline" style={{ marginLeft: Y_AXIS_PX, marginRight: PLOT_PAD_RIGHT }}>
        {spans.map((span) => {
          const pos = spanPosition(span, view);
          if (!pos) return null;
          return (
            <a
              key={span.id}
              href={executionHref(span.id)}
              className={`system-span system-span-${span.status}`}
              style={{ left: `${pos.left * 100}%`, width: `max(2px, ${pos.width * 100}%)` }}
              title={`${span.label} ${new Date(span.from).toLocaleTimeString()} for ${formatRelative(span.to - span.from)} (${span.status})`}
              data-testid="system-cell-span"
              data-execution-key={span.id}
              data-execution-count={span.count ?? ''}
            >
              {span.label}
            </a>
          );
        })}
        {spans.length === 0 ? <span className="muted small">no cells ran</span> : null}
      </div>
    </div>
  );
}

function SystemChart({
  projectId,
  runId,
  spec,
  window,
  zoomed,
  onZoom,
  spans,
  live,
}: {
  projectId: string;
  runId: string;
  spec: SystemChartSpec;
  window: [number, number];
  zoomed: boolean;
  onZoom: (range: [number, number] | null) => void;
  spans: ChartSpan[];
  live: boolean;
}) {
  const trpc = useTRPC();
  const frame = useChartFrame(true);
  const settled = useSettledRequest(frame.width, window);
  const enabled = frame.seen && settled.width > 0 && settled.range !== null;
  const lines = useMemo(
    (): ChartLine[] => spec.lines.map((l) => ({ id: l.key, name: l.label, color: l.color, ...(l.dashed ? { dashed: true } : {}) })),
    [spec],
  );
  const queries = useQueries({
    queries: spec.lines.map((line) => ({
      ...trpc.metrics.series.queryOptions(
        enabled ? seriesInput({ projectId, runIds: [runId], key: line.key, width: settled.width, xAxis: 'time', range: settled.range! }) : skipToken,
      ),
      placeholderData: keepPreviousData,
      refetchInterval: live ? 30_000 : (false as const),
      staleTime: live ? 20_000 : 5 * 60_000,
    })),
  });
  const answersKey = queries.map((q) => q.dataUpdatedAt).join(',');
  // biome-ignore lint/correctness/useExhaustiveDependencies: answersKey (the answers' update times) stands for `queries`, a new array on every render
  const data = useMemo((): ChartData | undefined => {
    if (!queries.some((q) => q.data)) return undefined;
    const first = queries.find((q) => q.data)?.data as { perPixel?: number; stepsPerPixel: number } | undefined;
    return {
      series: spec.lines.map((line, i) => {
        const s = queries[i]?.data?.series[0];
        return s ? { ...s, runId: line.key } : emptySeries(line.key);
      }),
      range: settled.range,
      perPixel: first?.perPixel ?? first?.stepsPerPixel ?? 1,
    };
    // `queries` is a new array each render: answersKey says when a result changed
  }, [answersKey, spec, settled.range?.[0], settled.range?.[1]]);
  const error = queries.find((q) => q.isError)?.error ?? null;
  const result: ChartResult = {
    data,
    isError: error !== null,
    error,
    isFetching: queries.some((q) => q.isFetching),
    isPlaceholderData: queries.some((q) => q.isPlaceholderData),
  };
  return (
    <ChartCard
      frame={frame}
      title={spec.title}
      dataKey={spec.id}
      lines={lines}
      result={result}
      xAxis="time"
      range={zoomed ? window : null}
      onRangeChange={onZoom}
      height={150}
      syncKey={`system:${runId}`}
      spans={spans}
      emptyText="No samples in this run."
      testId="system-chart"
    />
  );
}
