// Parallel coordinates for the compare page: one vertical axis per config key (numeric,
// log-numeric or categorical) and one for a summary metric; each run is a polyline across them.
// Positions are 0 (bottom) … 1 (top); a missing value has no position and breaks the line.
// Brushing keeps an interval per axis; a run matches when it lies inside every brushed axis.

export type AxisKind = 'linear' | 'log' | 'category';

export interface Tick {
  pos: number;
  label: string;
}

export interface Axis {
  id: string;
  label: string;
  kind: AxisKind;
  /** numeric axes: [min, max] of the values (log axes: of their log10) */
  domain: [number, number];
  /** category axes, bottom to top */
  categories: string[];
  ticks: Tick[];
}

export interface Brush {
  /** positions, lo ≤ hi */
  lo: number;
  hi: number;
}

/** Category label for any config value: strings as they are, the rest as JSON. */
export function categoryOf(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const present = (v: unknown) => v !== undefined && v !== null;

/** Spans of 2+ decades of positive numbers (learning rates, weight decay) read better on log. */
export const LOG_RATIO = 100;

export function buildAxis(id: string, label: string, values: readonly unknown[]): Axis {
  const defined = values.filter(present);
  const numeric = defined.length > 0 && defined.every(isNumber);
  if (numeric) {
    const nums = defined as number[];
    let lo = Math.min(...nums);
    let hi = Math.max(...nums);
    const log = lo > 0 && hi / lo >= LOG_RATIO;
    if (log) {
      lo = Math.log10(lo);
      hi = Math.log10(hi);
    }
    const axis: Axis = { id, label, kind: log ? 'log' : 'linear', domain: [lo, hi], categories: [], ticks: [] };
    axis.ticks = log ? logTicks(axis) : linearTicks(axis);
    return axis;
  }
  const categories = [...new Set(defined.map(categoryOf))].sort((a, b) => {
    const na = Number(a);
    const nb = Number(b);
    return Number.isFinite(na) && Number.isFinite(nb) ? na - nb : a.localeCompare(b, undefined, { numeric: true });
  });
  const axis: Axis = { id, label, kind: 'category', domain: [0, 0], categories, ticks: [] };
  axis.ticks = categories.map((c, i) => ({ pos: categoryPos(i, categories.length), label: c }));
  return axis;
}

const categoryPos = (i: number, n: number) => (n === 1 ? 0.5 : i / (n - 1));

/** Where `value` sits on `axis` (0 bottom, 1 top), or null when it has no place there. */
export function position(axis: Axis, value: unknown): number | null {
  if (!present(value)) return null;
  if (axis.kind === 'category') {
    const i = axis.categories.indexOf(categoryOf(value));
    return i < 0 ? null : categoryPos(i, axis.categories.length);
  }
  if (!isNumber(value)) return null;
  if (axis.kind === 'log' && value <= 0) return null;
  const v = axis.kind === 'log' ? Math.log10(value) : value;
  const [lo, hi] = axis.domain;
  return hi === lo ? 0.5 : (v - lo) / (hi - lo);
}

/** Every brushed axis holds the run; axes without a brush hold everyone, missing values no one. */
export function matchesBrushes(positions: readonly (number | null)[], brushes: readonly (Brush | null | undefined)[]): boolean {
  return brushes.every((brush, i) => {
    if (!brush) return true;
    const p = positions[i];
    return p !== null && p !== undefined && p >= brush.lo - 1e-9 && p <= brush.hi + 1e-9;
  });
}

/**
 * A brush from a drag between two positions, clamped to the axis; null for a click (no extent).
 * An end within `snap` of the axis's end snaps to it, so a drag from the top takes the top value.
 */
export function brushBetween(a: number, b: number, minExtent = 0.01, snap = 0.03): Brush | null {
  let lo = Math.max(0, Math.min(a, b));
  let hi = Math.min(1, Math.max(a, b));
  if (hi - lo < minExtent) return null;
  if (lo < snap) lo = 0;
  if (hi > 1 - snap) hi = 1;
  return { lo, hi };
}

/** The value at a position of a numeric axis (for brush labels). */
export function valueAt(axis: Axis, pos: number): number {
  const [lo, hi] = axis.domain;
  const v = lo + pos * (hi - lo);
  return axis.kind === 'log' ? 10 ** v : v;
}

/** 1, 2 or 5 × 10^n, so about `count` ticks cover the domain. */
export function niceStep(span: number, count: number): number {
  if (!(span > 0)) return 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

const tickLabel = (v: number) => {
  if (v === 0) return '0';
  const abs = Math.abs(v);
  if (abs >= 1e5 || abs < 1e-3) return v.toExponential(0);
  return String(Number(v.toPrecision(6)));
};

function linearTicks(axis: Axis, count = 5): Tick[] {
  const [lo, hi] = axis.domain;
  if (hi === lo) return [{ pos: 0.5, label: tickLabel(lo) }];
  const step = niceStep(hi - lo, count);
  const ticks: Tick[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    ticks.push({ pos: (v - lo) / (hi - lo), label: tickLabel(Number(v.toPrecision(12))) });
  }
  return ticks;
}

function logTicks(axis: Axis): Tick[] {
  const [lo, hi] = axis.domain;
  const ticks: Tick[] = [];
  for (let e = Math.ceil(lo - 1e-9); e <= hi + 1e-9; e++) ticks.push({ pos: (e - lo) / (hi - lo), label: `1e${e}` });
  return ticks;
}

/**
 * Config keys worth an axis: present in at least two runs and not the same everywhere,
 * with scalar values (lists and objects have no useful order). At most `limit`, fewest
 * missing values first.
 */
export function varyingKeys(configs: readonly Record<string, unknown>[], limit = 10): string[] {
  const keys = [...new Set(configs.flatMap((c) => Object.keys(c)))];
  const scalar = (v: unknown) => v === null || ['number', 'string', 'boolean'].includes(typeof v);
  return keys
    .map((key) => {
      const values = configs.filter((c) => Object.hasOwn(c, key)).map((c) => c[key]);
      const distinct = new Set(values.map((v) => JSON.stringify(v))).size;
      return { key, n: values.length, distinct, scalar: values.every(scalar) };
    })
    .filter((k) => k.n >= 2 && k.scalar && (k.distinct > 1 || k.n < configs.length))
    .sort((a, b) => b.n - a.n || a.key.localeCompare(b.key))
    .slice(0, limit)
    .map((k) => k.key);
}

/** A summary entry's value: an explicit cellmark.summary value wins over the last logged one. */
export function summaryValue(entry: { last?: unknown; value?: unknown } | undefined): unknown {
  if (!entry) return undefined;
  const v = 'value' in entry && entry.value !== undefined ? entry.value : entry.last;
  if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return undefined;
  return v;
}
