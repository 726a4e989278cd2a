// The compare page's config table: one row per config key, one column per run, and whether
// the runs disagree on it (a key some runs lack counts as a difference).

export interface DiffRow {
  key: string;
  /** per run, in the order given; undefined where the run has no such key */
  values: unknown[];
  differs: boolean;
}

const same = (a: unknown, b: unknown) => a === b || (a !== undefined && b !== undefined && JSON.stringify(a) === JSON.stringify(b));

export function configDiff(configs: readonly Record<string, unknown>[]): DiffRow[] {
  const keys = [...new Set(configs.flatMap((c) => Object.keys(c)))].sort((a, b) => a.localeCompare(b));
  return keys.map((key) => {
    const values = configs.map((c) => (Object.hasOwn(c, key) ? c[key] : undefined));
    return { key, values, differs: values.some((v) => !same(v, values[0])) };
  });
}
