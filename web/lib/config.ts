// A run's config for the run page: final value per key with the executions that changed it.

export interface ConfigChange {
  key: string;
  value?: unknown;
  executionKey: string;
  executionCount: number | null;
  startedAt: string;
}

export interface ConfigRow {
  key: string;
  value: unknown;
  /** in execution order */
  changes: ConfigChange[];
}

/** Keys sorted; the final value is the run's own (runs.config), else the last change. */
export function configRows(final: Record<string, unknown>, history: readonly ConfigChange[]): ConfigRow[] {
  const byKey = new Map<string, ConfigChange[]>();
  for (const change of history) byKey.set(change.key, [...(byKey.get(change.key) ?? []), change]);
  const keys = [...new Set([...Object.keys(final), ...byKey.keys()])].sort((a, b) => a.localeCompare(b));
  return keys.map((key) => {
    const changes = (byKey.get(key) ?? []).sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
    return { key, value: key in final ? final[key] : changes.at(-1)?.value, changes };
  });
}

/** Strings as they are (quoted only where they would read as another type), the rest as JSON. */
export function formatConfigValue(value: unknown): string {
  if (typeof value === 'string') {
    let readsAsOther = false;
    try {
      JSON.parse(value);
      readsAsOther = true;
    } catch {
      // a plain word: no quotes needed
    }
    return readsAsOther ? JSON.stringify(value) : value;
  }
  if (value === undefined) return '—';
  return JSON.stringify(value) ?? String(value);
}
