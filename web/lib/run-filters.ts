// Runs-table filters ↔ URL query, so a filtered view is a link you can share:
//   ?status=crashed&user=<id>&notebook=train&tag=baseline&cfg.lr=0.001&cfg.optimizer=adam
// Config values stay raw strings in the URL and are typed only for the API (JSON when they
// parse, else strings), so "0.001" filters the number and "adam" the string.
import type { Outputs } from './trpc.ts';

type RunStatus = Outputs['runs']['list']['runs'][number]['status'];

export const RUN_STATUSES = ['running', 'finished', 'crashed'] as const satisfies readonly RunStatus[];

export interface RunFilters {
  status: RunStatus[];
  userId: string;
  notebook: string;
  tag: string;
  /** in URL order; value as typed */
  config: Array<{ key: string; value: string }>;
}

export const emptyFilters = (): RunFilters => ({ status: [], userId: '', notebook: '', tag: '', config: [] });

const CONFIG_PREFIX = 'cfg.';
const OWN_PARAMS = new Set(['status', 'user', 'notebook', 'tag']);

export function filtersFromQuery(query: URLSearchParams): RunFilters {
  const statuses = query.getAll('status').flatMap((s) => s.split(','));
  return {
    status: RUN_STATUSES.filter((s) => statuses.includes(s)),
    userId: query.get('user') ?? '',
    notebook: query.get('notebook') ?? '',
    tag: query.get('tag') ?? '',
    config: [...query.entries()]
      .filter(([name]) => name.startsWith(CONFIG_PREFIX) && name.length > CONFIG_PREFIX.length)
      .map(([name, value]) => ({ key: name.slice(CONFIG_PREFIX.length), value })),
  };
}

/** `base`'s other parameters (the tab, …) are kept; this module's own are replaced. */
export function filtersToQuery(filters: RunFilters, base: URLSearchParams = new URLSearchParams()): URLSearchParams {
  const query = new URLSearchParams();
  for (const [name, value] of base) if (!OWN_PARAMS.has(name) && !name.startsWith(CONFIG_PREFIX)) query.append(name, value);
  for (const status of filters.status) query.append('status', status);
  if (filters.userId) query.set('user', filters.userId);
  if (filters.notebook) query.set('notebook', filters.notebook);
  if (filters.tag) query.set('tag', filters.tag);
  for (const { key, value } of filters.config) if (key) query.append(CONFIG_PREFIX + key, value);
  return query;
}

/** "0.001" → 0.001, "true" → true, "[64,64]" → [64, 64], "adam" → "adam", "\"1\"" → "1". */
export function parseConfigValue(raw: string): unknown {
  const text = raw.trim();
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export interface ApiRunFilter {
  status?: RunStatus[];
  userId?: string;
  notebook?: string;
  tag?: string;
  config?: Array<{ key: string; value: unknown }>;
}

/** The runs.list filter input; undefined when nothing filters. Half-typed config rows are skipped. */
export function toApiFilter(filters: RunFilters): ApiRunFilter | undefined {
  const api: ApiRunFilter = {};
  if (filters.status.length) api.status = filters.status;
  if (filters.userId) api.userId = filters.userId;
  if (filters.notebook.trim()) api.notebook = filters.notebook.trim();
  if (filters.tag.trim()) api.tag = filters.tag.trim();
  const config = filters.config.filter((c) => c.key && c.value.trim()).map((c) => ({ key: c.key, value: parseConfigValue(c.value) }));
  if (config.length) api.config = config;
  return Object.keys(api).length ? api : undefined;
}

export const hasFilters = (filters: RunFilters) => toApiFilter(filters) !== undefined;
