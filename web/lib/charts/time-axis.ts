// The x axis of metric charts: logged step, wall time (epoch ms, as metrics.series answers
// with xAxis 'time') or relative time (wall time minus each run's start, computed here: each
// run is asked for its own window [start + r0, start + r1] and its buckets shifted back and
// snapped onto one shared pixel grid, so runs started days apart overlay from 0).
import type { WireSeries } from './series-data.ts';

export type XAxisMode = 'step' | 'time' | 'relative';
export const X_AXIS_MODES: readonly XAxisMode[] = ['step', 'time', 'relative'];
export const X_AXIS_LABELS: Record<XAxisMode, string> = { step: 'Step', time: 'Wall time', relative: 'Relative time' };

/** `?x=time|relative`; absent (or anything else) is the step axis. */
export function xAxisFromQuery(query: URLSearchParams): XAxisMode {
  const x = query.get('x');
  return x === 'time' || x === 'relative' ? x : 'step';
}

export function xAxisToQuery(mode: XAxisMode, base: URLSearchParams = new URLSearchParams()): URLSearchParams {
  const query = new URLSearchParams(base);
  if (mode === 'step') query.delete('x');
  else query.set('x', mode);
  return query;
}

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

/** Tick spacings for durations (ms): round seconds, minutes, hours, days. */
export const DURATION_INCRS = [
  1,
  2,
  5,
  10,
  20,
  50,
  100,
  200,
  500,
  S,
  2 * S,
  5 * S,
  10 * S,
  15 * S,
  30 * S,
  M,
  2 * M,
  5 * M,
  10 * M,
  15 * M,
  30 * M,
  H,
  2 * H,
  3 * H,
  6 * H,
  12 * H,
  D,
  2 * D,
  7 * D,
  14 * D,
  30 * D,
  90 * D,
  365 * D,
];

/** A duration for an axis or tooltip: 250ms, 45s, 1m 30s, 2h 05m, 3d 4h. */
export function formatRelative(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  const a = Math.abs(ms);
  if (a === 0) return '0s';
  if (a < S) return `${sign}${Math.round(a)}ms`;
  if (a < M) return `${sign}${Number((a / S).toFixed(a < 10 * S && a % S ? 1 : 0))}s`;
  if (a < H) {
    const m = Math.floor(a / M);
    const s = Math.round((a % M) / S);
    return `${sign}${m}m${s ? ` ${String(s).padStart(2, '0')}s` : ''}`;
  }
  if (a < D) {
    const h = Math.floor(a / H);
    const m = Math.round((a % H) / M);
    return `${sign}${h}h${m ? ` ${String(m).padStart(2, '0')}m` : ''}`;
  }
  const d = Math.floor(a / D);
  const h = Math.round((a % D) / H);
  return `${sign}${d}d${h ? ` ${h}h` : ''}`;
}

/** A wall-clock time for a tooltip: the time of day, with the date when it is not today. */
export function formatWallTime(ms: number, now: number = Date.now()): string {
  const date = new Date(ms);
  const time = date.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return new Date(now).toDateString() === date.toDateString() ? time : `${date.toLocaleDateString('en-CA')} ${time}`;
}

/** The x value in words for the tooltip head. */
export function formatX(x: number, mode: XAxisMode): string {
  if (mode === 'time') return formatWallTime(x);
  if (mode === 'relative') return `+${formatRelative(x)}`;
  return `step ${Math.ceil(x).toLocaleString('en')}`;
}

/** The wall-time window a relative window stands for in one run. */
export function windowOfRun(view: [number, number], startMs: number): [number, number] {
  return [Math.max(0, Math.floor(startMs + view[0])), Math.max(0, Math.ceil(startMs + view[1]))];
}

/** One run's answer on the time axis, and when the run started (epoch ms). */
export interface RunTimeSeries {
  series: WireSeries | undefined;
  startMs: number;
  /** the window the run was asked for (or answered with); null when it has no points */
  range: [number, number] | null;
}

/**
 * Relative time: each run's buckets moved by −start and snapped onto `width` pixels over
 * `view` (or, unzoomed, 0 … the longest run). Buckets of one run that land in the same
 * pixel are merged as the server merges them (min of mins, max of maxes, the later last).
 */
export function toRelative(
  runs: readonly RunTimeSeries[],
  width: number,
  view: [number, number] | null,
): { range: [number, number] | null; perPixel: number; series: WireSeries[] } {
  let range = view;
  if (!range) {
    const ends = runs.filter((r) => r.range).map((r) => r.range![1] - r.startMs);
    const starts = runs.filter((r) => r.range).map((r) => r.range![0] - r.startMs);
    range = ends.length ? [Math.max(0, Math.min(0, ...starts)), Math.max(...ends)] : null;
  }
  if (!range) return { range: null, perPixel: 1, series: runs.map((r, i) => r.series ?? emptySeries(String(i))) };
  const [r0, r1] = range;
  const perPixel = Math.max(1, (r1 - r0 + 1) / Math.max(1, width));
  const series = runs.map((run, i) => {
    const s = run.series;
    if (!s) return emptySeries(String(i));
    const out = emptySeries(s.runId);
    let lastPx = Number.NaN;
    s.x.forEach((x, k) => {
      const rel = x - run.startMs;
      if (rel < r0 || rel > r1) return;
      const px = Math.floor((rel - r0) / perPixel);
      const value = s.last[k] ?? null;
      if (px === lastPx) {
        const j = out.x.length - 1;
        out.min[j] = minOf(out.min[j]!, s.min[k] ?? null);
        out.max[j] = maxOf(out.max[j]!, s.max[k] ?? null);
        if ((s.lastStep[k] ?? 0) >= out.lastStep[j]!) {
          out.last[j] = value;
          out.lastStep[j] = s.lastStep[k]!;
        }
        out.count[j]! += s.count[k] ?? 0;
        out.nonFinite[j]! += s.nonFinite[k] ?? 0;
        return;
      }
      lastPx = px;
      out.x.push(Math.round(r0 + px * perPixel));
      out.min.push(s.min[k] ?? null);
      out.max.push(s.max[k] ?? null);
      out.last.push(value);
      out.lastStep.push(s.lastStep[k] ?? 0);
      out.count.push(s.count[k] ?? 0);
      out.nonFinite.push(s.nonFinite[k] ?? 0);
    });
    return out;
  });
  return { range: [r0, r1], perPixel, series };
}

const minOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
const maxOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

export const emptySeries = (runId: string): WireSeries => ({ runId, x: [], min: [], max: [], last: [], lastStep: [], count: [], nonFinite: [] });
