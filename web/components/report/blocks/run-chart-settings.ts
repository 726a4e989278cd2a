// The run chart block's settings (node attributes), read defensively: they come from a shared
// document any co-editor (or an older client) may have written.
import { MAX_CHART_RUNS } from '../../../lib/charts/selection.ts';
import { isStringArray } from './block.ts';

export type RunSource = 'runs' | 'filter';

export interface RunChartSettings {
  source: RunSource;
  /** source "runs": these runs, in this order (colours follow it) */
  runIds: string[];
  /** source "filter": a runs-table query (?status=…&tag=…&cfg.lr=…), as in its URL */
  filter: string;
  /** source "filter": at most this many runs, most recent first */
  limit: number;
  keys: string[];
}

export const DEFAULT_FILTER_LIMIT = 10;

/**
 * Accepts what people paste: a whole runs-table link, "?status=running&tag=x", or the bare
 * query. Keeps only the runs-table filter parameters (not ?tab=, ?runs=, …).
 */
export function normalizeFilter(input: string): string {
  let text = input.trim();
  const q = text.indexOf('?');
  if (q >= 0) text = text.slice(q + 1);
  text = text.split('#')[0]!;
  const params = new URLSearchParams(text);
  const kept = new URLSearchParams();
  for (const [name, value] of params) {
    if (['status', 'user', 'notebook', 'tag'].includes(name) || (name.startsWith('cfg.') && name.length > 4)) kept.append(name, value);
  }
  return kept.toString();
}

export function clampLimit(value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() ? Number(value) : NaN;
  return Number.isFinite(n) ? Math.min(MAX_CHART_RUNS, Math.max(1, Math.round(n))) : DEFAULT_FILTER_LIMIT;
}

export function settingsOf(attrs: Record<string, unknown>): RunChartSettings {
  return {
    source: attrs.source === 'filter' ? 'filter' : 'runs',
    runIds: isStringArray(attrs.runIds) ? attrs.runIds.slice(0, MAX_CHART_RUNS) : [],
    filter: typeof attrs.filter === 'string' ? attrs.filter : '',
    limit: clampLimit(attrs.limit),
    keys: isStringArray(attrs.keys) ? attrs.keys : [],
  };
}
