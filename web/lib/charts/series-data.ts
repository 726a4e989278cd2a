// metrics.series responses → the column arrays a uPlot chart draws: one x grid shared by
// every run, and per run a line of last values with a min/max envelope around it.
//
// uPlot reads `null` as a gap (the line breaks) and `undefined` as "no point here" (the line
// joins its neighbours). A run with no bucket at a grid position gets `undefined`; a bucket
// whose value is NaN/±Infinity gets `null`, widened over the `undefined`s next to it so the
// break spans the whole way to the run's neighbouring points, not just to another run's.
import type { Outputs } from '../trpc.ts';

export type SeriesResponse = Outputs['metrics']['series'];
export type WireValue = number | string | null;

/** One run's buckets as metrics.series sends them (the fields charts read; the wire may carry more). */
export interface WireSeries {
  runId: string;
  /** pixel starts: steps, or epoch ms on the time axis */
  x: number[];
  min: (number | null)[];
  max: (number | null)[];
  last: WireValue[];
  lastStep: number[];
  count: number[];
  nonFinite: number[];
}

/** A y column: number, null (gap) or undefined (no point at this x). */
export type Column = (number | null | undefined)[];

export interface RunColumns {
  runId: string;
  last: Column;
  min: Column;
  max: Column;
  /** per grid position: the value as sent (keeps "NaN"/"Infinity" for the tooltip), undefined without a bucket */
  raw: (WireValue | undefined)[];
  lastStep: (number | undefined)[];
  count: (number | undefined)[];
  /** grid positions whose last value is not finite */
  nonFinite: number[];
}

export interface ChartColumns {
  x: number[];
  runs: RunColumns[];
}

/** A wire value as a number for drawing: null unless finite. */
export function finiteValue(value: WireValue | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** "NaN", "Infinity", "-Infinity" and null (non-finite in the database) read as text. */
export function valueText(value: WireValue | undefined, format: (n: number) => string = formatValue): string {
  if (value === undefined) return '—';
  if (value === null) return 'NaN';
  if (typeof value === 'number') return Number.isFinite(value) ? format(value) : String(value);
  return value;
}

/**
 * Turns `undefined`s next to a `null` into `null`, so a gap reaches the next real point.
 * Only positions where the run has no bucket (`empty(i)`) are widened over.
 */
export function expandNulls(column: Column, empty: (i: number) => boolean = (i) => column[i] === undefined): Column {
  const out = column.slice();
  for (let i = 0; i < out.length; i++) {
    if (column[i] !== null) continue;
    for (let j = i - 1; j >= 0 && out[j] === undefined && empty(j); j--) out[j] = null;
    for (let j = i + 1; j < out.length && out[j] === undefined && empty(j); j++) out[j] = null;
  }
  return out;
}

/**
 * Aligns every run on the union of their bucket starts (they share one pixel grid, so the union
 * stays about one entry per pixel). With `log`, values ≤ 0 cannot be drawn and are left out
 * (undefined), which is not a gap: they are real values, just off this scale.
 */
export function alignSeries(series: readonly WireSeries[], options: { log?: boolean } = {}): ChartColumns {
  const xs = new Set<number>();
  for (const s of series) for (const x of s.x) xs.add(x);
  const x = [...xs].sort((a, b) => a - b);
  const index = new Map(x.map((v, i) => [v, i]));
  const drawable = (v: number | null): number | null | undefined => (v === null ? null : options.log && v <= 0 ? undefined : v);

  const runs = series.map((s): RunColumns => {
    const n = x.length;
    const last: Column = new Array(n).fill(undefined);
    const min: Column = new Array(n).fill(undefined);
    const max: Column = new Array(n).fill(undefined);
    const raw: (WireValue | undefined)[] = new Array(n).fill(undefined);
    const lastStep: (number | undefined)[] = new Array(n).fill(undefined);
    const count: (number | undefined)[] = new Array(n).fill(undefined);
    const nonFinite: number[] = [];
    s.x.forEach((bucket, k) => {
      const i = index.get(bucket)!;
      const value = s.last[k] ?? null;
      raw[i] = value;
      last[i] = drawable(finiteValue(value));
      if (finiteValue(value) === null) nonFinite.push(i);
      // the envelope breaks only where a bucket held no finite value at all
      const lo = s.min[k] ?? null;
      const hi = s.max[k] ?? null;
      min[i] = drawable(lo);
      max[i] = drawable(hi);
      lastStep[i] = s.lastStep[k];
      count[i] = s.count[k];
    });
    const empty = (i: number) => raw[i] === undefined;
    return { runId: s.runId, last: expandNulls(last, empty), min: expandNulls(min, empty), max: expandNulls(max, empty), raw, lastStep, count, nonFinite };
  });
  return { x, runs };
}

/** uPlot's AlignedData: x, then per run its line, envelope min and envelope max. */
export function toUplotData(columns: ChartColumns): [number[], ...Column[]] {
  const data: [number[], ...Column[]] = [columns.x];
  for (const run of columns.runs) data.push(run.last, run.min, run.max);
  return data;
}

/** uPlot series index (1-based, 0 is x) of a run's line, min and max. */
export const seriesIndex = (runIndex: number) => ({ line: 1 + runIndex * 3, min: 2 + runIndex * 3, max: 3 + runIndex * 3 });

/** One band per run, filled between its max and min series. */
export function envelopeBands(runCount: number, fill: (runIndex: number) => string): { series: [number, number]; fill: string }[] {
  return Array.from({ length: runCount }, (_, i) => ({ series: [seriesIndex(i).max, seriesIndex(i).min] as [number, number], fill: fill(i) }));
}

/** The index in sorted `xs` closest to `value` (−1 when empty). */
export function nearestIndex(xs: readonly number[], value: number): number {
  if (!xs.length) return -1;
  let lo = 0;
  let hi = xs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs(xs[lo - 1]! - value) <= Math.abs(xs[lo]! - value)) return lo - 1;
  return lo;
}

/**
 * A run's bucket nearest to grid position `index` within `maxDistance` positions, for the
 * tooltip: sparse runs (logged every 100 steps) have no bucket under most pixels.
 */
export function nearestBucket(run: RunColumns, index: number, maxDistance: number): number {
  for (let d = 0; d <= maxDistance; d++) {
    if (run.raw[index - d] !== undefined && index - d >= 0) return index - d;
    if (run.raw[index + d] !== undefined) return index + d;
  }
  return -1;
}

/** The zoom range for a drag between two x values: whole steps, in order, at least two steps wide. */
export function zoomRange(a: number, b: number): [number, number] {
  const x0 = Math.max(0, Math.floor(Math.min(a, b)));
  const x1 = Math.max(0, Math.ceil(Math.max(a, b)));
  return [x0, Math.max(x1, x0 + 2)];
}

const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });

/** Steps on an axis: 950, 12.5K, 1.2M. */
export function formatStep(step: number): string {
  return Math.abs(step) < 10_000 ? String(Math.round(step)) : compact.format(step);
}

/** Axis labels for steps: compact while that tells the ticks apart, else full (zoomed in far). */
export function formatSteps(splits: readonly number[]): string[] {
  const short = splits.map(formatStep);
  return new Set(short).size === short.length ? short : splits.map((s) => Math.round(s).toLocaleString('en'));
}

/** A metric value with enough digits to tell neighbours apart: 0.0123, 1.235e-7, 12,345.7. */
export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1e6 || abs < 1e-4) return value.toExponential(3);
  if (abs >= 1000) return value.toLocaleString('en', { maximumFractionDigits: 1 });
  return String(Number(value.toPrecision(4)));
}
