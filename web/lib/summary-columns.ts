// Summary-metric columns of the runs table: a metric key and which of the run summary's
// aggregates to show ({last, step, min, max, mean} per key; an explicit cellmark.summary
// value wins for `last`). Ready-made columns name what people look for in system metrics
// ("peak GPU 0 memory" = max of system/gpu.0.mem_used_mib).

export const SUMMARY_AGGS = ['last', 'min', 'max', 'mean'] as const;
export type SummaryAgg = (typeof SUMMARY_AGGS)[number];

export interface SummaryColumn {
  key: string;
  agg: SummaryAgg;
}

/** Table column id (also `data-column`): `summary:<key>` for the last value, `summary-<agg>:<key>` otherwise. */
export const summaryColumnId = (c: SummaryColumn) => (c.agg === 'last' ? `summary:${c.key}` : `summary-${c.agg}:${c.key}`);

/** The runs.list sort key: `summary.<key>` (hand-set value, else last) or `summary-<agg>.<key>`. */
export const summarySortKey = (c: SummaryColumn): string => (c.agg === 'last' ? `summary.${c.key}` : `summary-${c.agg}.${c.key}`);

export const sameColumn = (a: SummaryColumn, b: SummaryColumn) => a.key === b.key && a.agg === b.agg;

/** Stored form: a bare key is the last value (what earlier versions stored), else {key, agg}. */
export function readSummaryColumns(stored: unknown): SummaryColumn[] {
  if (!Array.isArray(stored)) return [];
  const out: SummaryColumn[] = [];
  for (const item of stored) {
    const column: SummaryColumn | null =
      typeof item === 'string'
        ? { key: item, agg: 'last' }
        : item && typeof item === 'object' && typeof (item as SummaryColumn).key === 'string' && SUMMARY_AGGS.includes((item as SummaryColumn).agg)
          ? { key: (item as SummaryColumn).key, agg: (item as SummaryColumn).agg }
          : null;
    if (column && !out.some((c) => sameColumn(c, column))) out.push(column);
  }
  return out;
}

export const writeSummaryColumns = (columns: readonly SummaryColumn[]): unknown[] =>
  columns.map((c) => (c.agg === 'last' ? c.key : { key: c.key, agg: c.agg }));

const GPU_KEY = /^system\/gpu\.([^/]+)\.(util|mem_used_mib|proc_mem_mib|power_w|temp_c)$/;

interface Preset {
  agg: SummaryAgg;
  label: (device: string) => string;
}

const GPU_PRESETS: Record<string, Preset> = {
  mem_used_mib: { agg: 'max', label: (d) => `peak GPU ${d} memory (MiB)` },
  util: { agg: 'mean', label: (d) => `mean GPU ${d} util (%)` },
  proc_mem_mib: { agg: 'max', label: (d) => `peak GPU ${d} memory of the kernel (MiB)` },
};

const OTHER_PRESETS: Record<string, Preset> = {
  'system/mem.process_rss_mib': { agg: 'max', label: () => 'peak RAM of the kernel (MiB)' },
  'system/cpu.process_pct': { agg: 'mean', label: () => 'mean CPU of the kernel (%)' },
};

function presetFor(key: string): Preset | null {
  const gpu = GPU_KEY.exec(key);
  if (gpu) return GPU_PRESETS[gpu[2]!] ?? null;
  return OTHER_PRESETS[key] ?? null;
}

/** A column's header: the ready-made name where there is one, else `summary.<key>` or `<agg>(<key>)`. */
export function summaryColumnLabel(c: SummaryColumn): string {
  const preset = presetFor(c.key);
  if (preset && preset.agg === c.agg) return preset.label(GPU_KEY.exec(c.key)?.[1] ?? '');
  return c.agg === 'last' ? `summary.${c.key}` : `${c.agg}(${c.key})`;
}

export const summaryColumnTitle = (c: SummaryColumn) =>
  c.agg === 'last'
    ? `last value of ${c.key} (or its cellmark.summary value)`
    : `${c.agg === 'mean' ? 'mean of the finite values' : `finite ${c.agg}imum`} of ${c.key}`;

/** Ready-made columns for the keys a project has (GPUs in device order). */
export function summaryPresets(keys: readonly string[]): (SummaryColumn & { label: string })[] {
  const out: (SummaryColumn & { label: string })[] = [];
  for (const key of [...keys].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))) {
    const preset = presetFor(key);
    if (preset) out.push({ key, agg: preset.agg, label: summaryColumnLabel({ key, agg: preset.agg }) });
  }
  // the issue's two first: peak memory and mean util of each GPU, then the rest
  const rank = (c: SummaryColumn) => (/mem_used_mib$/.test(c.key) ? 0 : /\.util$/.test(c.key) ? 1 : 2);
  return out.sort((a, b) => rank(a) - rank(b) || a.key.localeCompare(b.key, undefined, { numeric: true }));
}

type SummaryEntry = { last?: unknown; value?: unknown; min?: unknown; max?: unknown; mean?: unknown };

/** A run's value for a column: undefined when the run has none. */
export function summaryValue(summary: Record<string, unknown>, c: SummaryColumn): unknown {
  const entry = summary[c.key] as SummaryEntry | undefined;
  if (!entry || typeof entry !== 'object') return undefined;
  if (c.agg === 'last') return entry.value !== undefined ? entry.value : entry.last;
  const v = entry[c.agg];
  return v === null || v === undefined ? undefined : v;
}
