// Which runs and metric keys a charts view shows, kept in the URL so a view is a link:
//   project Charts tab  ?tab=charts&runs=<id>,<id>&key=train/loss&key=val/acc
//   compare page        ?runs=<id>,<id>,<id>
// Run ids are UUIDs (no commas), so one comma list; keys are free text, so one parameter each.
// Absent `runs` means "the default runs" (the most recent ones), absent `key` the default keys.
import { isSystemKey } from './system-metrics.ts';

export const MAX_CHART_RUNS = 100;
export const DEFAULT_RUN_COUNT = 10;

export interface ChartSelection {
  /** null: not chosen, use the default */
  runs: string[] | null;
  keys: string[] | null;
}

const unique = (values: string[]) => [...new Set(values)];

export function selectionFromQuery(query: URLSearchParams): ChartSelection {
  const runs = query.has('runs')
    ? unique(
        query
          .getAll('runs')
          .flatMap((v) => v.split(','))
          .map((v) => v.trim())
          .filter(Boolean),
      ).slice(0, MAX_CHART_RUNS)
    : null;
  const keys = query.has('key') ? unique(query.getAll('key').filter(Boolean)) : null;
  return { runs, keys };
}

/** `base`'s other parameters (the tab, filters) are kept; `runs` and `key` are replaced. */
export function selectionToQuery(selection: ChartSelection, base: URLSearchParams = new URLSearchParams()): URLSearchParams {
  const query = new URLSearchParams();
  for (const [name, value] of base) if (name !== 'runs' && name !== 'key') query.append(name, value);
  if (selection.runs !== null) query.set('runs', selection.runs.slice(0, MAX_CHART_RUNS).join(','));
  if (selection.keys !== null) for (const key of selection.keys) query.append('key', key);
  return query;
}

/** The most recently started runs, newest first. */
export function defaultRuns<T extends { id: string; startedAt: string }>(runs: readonly T[], count = DEFAULT_RUN_COUNT): string[] {
  return [...runs]
    .sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt))
    .slice(0, count)
    .map((r) => r.id);
}

/** Adds or removes one id, never past the limit (the caller says when it is full). */
export function toggleId(ids: readonly string[], id: string, limit = MAX_CHART_RUNS): string[] {
  if (ids.includes(id)) return ids.filter((v) => v !== id);
  return ids.length >= limit ? [...ids] : [...ids, id];
}

export interface KeyGroup {
  /** "train", "val", … ; "" for keys without a prefix */
  prefix: string;
  keys: string[];
}

/**
 * Keys by their first path segment: train/ and val/ first (the usual pair), other prefixes
 * alphabetically, keys without a prefix last. Keys keep their order within a group.
 */
export function groupKeys(keys: readonly string[]): KeyGroup[] {
  const groups = new Map<string, string[]>();
  for (const key of keys) {
    const slash = key.indexOf('/');
    const prefix = slash > 0 ? key.slice(0, slash) : '';
    groups.set(prefix, [...(groups.get(prefix) ?? []), key]);
  }
  const rank = (prefix: string) => (prefix === 'train' ? 0 : prefix === 'val' ? 1 : prefix === '' ? 3 : 2);
  return [...groups.entries()]
    .map(([prefix, list]) => ({ prefix, keys: list }))
    .sort((a, b) => rank(a.prefix) - rank(b.prefix) || a.prefix.localeCompare(b.prefix));
}

/**
 * A picker's keys in two sections: the user's own metrics, grouped as `groupKeys` groups them,
 * then the system metrics (`system/…`) below.
 */
export function keySections(keys: readonly string[]): { own: string[]; system: string[] } {
  return {
    own: groupKeys(keys.filter((k) => !isSystemKey(k))).flatMap((g) => g.keys),
    system: keys.filter(isSystemKey).sort((a, b) => a.localeCompare(b, undefined, { numeric: true })),
  };
}

/**
 * The keys charted before anyone picks: the user's own metrics, up to `count`. System metrics
 * are not among them (as in W&B, they are a section of their own; the run page charts them).
 */
export function defaultKeys(keys: readonly string[], count: number): string[] {
  return keySections(keys).own.slice(0, count);
}

/**
 * Keys for comparing runs: those every run logged first, then by how many runs logged them,
 * then by name.
 */
export function keysByCoverage(keysPerRun: readonly (readonly string[])[]): { key: string; runs: number }[] {
  const counts = new Map<string, number>();
  for (const keys of keysPerRun) for (const key of new Set(keys)) counts.set(key, (counts.get(key) ?? 0) + 1);
  return [...counts.entries()].map(([key, runs]) => ({ key, runs })).sort((a, b) => b.runs - a.runs || a.key.localeCompare(b.key));
}
