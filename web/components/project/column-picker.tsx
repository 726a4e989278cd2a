// Which config keys and summary metrics show as columns in the runs table; remembered per
// project in this browser (config and summary columns under separate keys, so a config key
// that happens to start with "summary." stays a config key). A summary column is a metric key
// and an aggregate (last, min, max, mean); system metrics get ready-made ones ("peak GPU 0
// memory").
'use client';
import { useCallback, useEffect, useRef, useState } from 'react';
import {
  readSummaryColumns,
  SUMMARY_AGGS,
  type SummaryAgg,
  type SummaryColumn,
  sameColumn,
  summaryPresets,
  writeSummaryColumns,
} from '@/lib/summary-columns.ts';
import { useDismissMenu } from '@/lib/use-dismiss-menu.ts';
import './runs-table.css';

type ColumnKind = 'runs-columns' | 'runs-summary-columns';

const storageKey = (kind: ColumnKind, projectId: string) => `cellmark:${kind}:${projectId}`;

function readStored(kind: ColumnKind, projectId: string): unknown {
  try {
    return JSON.parse(window.localStorage.getItem(storageKey(kind, projectId)) ?? '[]');
  } catch {
    // storage disabled or a hand-edited value: start with no columns
    return [];
  }
}

const readKeys = (stored: unknown): string[] => (Array.isArray(stored) ? stored.filter((k): k is string => typeof k === 'string') : []);

/** The chosen config columns; read after mount, so the server render and hydration agree. */
export const useConfigColumns = (projectId: string | undefined) => useStoredColumns('runs-columns', projectId, readKeys, (keys) => keys);
/** The chosen summary-metric columns (key + aggregate). */
export const useSummaryColumns = (projectId: string | undefined) =>
  useStoredColumns('runs-summary-columns', projectId, readSummaryColumns, writeSummaryColumns);

function useStoredColumns<T>(
  kind: ColumnKind,
  projectId: string | undefined,
  read: (stored: unknown) => T[],
  write: (value: T[]) => unknown,
): [T[], (next: T[]) => void] {
  const [columns, setColumns] = useState<T[]>([]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: read/write are module-level functions
  useEffect(() => {
    if (projectId) setColumns(read(readStored(kind, projectId)));
    // read/write are module-level functions
  }, [kind, projectId]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: read/write are module-level functions
  const update = useCallback(
    (next: T[]) => {
      setColumns(next);
      if (!projectId) return;
      try {
        window.localStorage.setItem(storageKey(kind, projectId), JSON.stringify(write(next)));
      } catch {
        // private mode or full storage: the choice lasts for this page only
      }
    },
    [kind, projectId],
  );
  return [columns, update];
}

export function ColumnPicker({
  keys,
  selected,
  onChange,
  summaryKeys = [],
  summarySelected = [],
  onSummaryChange,
}: {
  keys: string[];
  selected: string[];
  onChange: (next: string[]) => void;
  /** metric keys whose summary can be a column */
  summaryKeys?: string[];
  summarySelected?: SummaryColumn[];
  onSummaryChange?: (next: SummaryColumn[]) => void;
}) {
  const ref = useRef<HTMLDetailsElement>(null);
  useDismissMenu(ref);
  const all = [...new Set([...keys, ...selected])].sort((a, b) => a.localeCompare(b));
  const toggle = (key: string) => onChange(selected.includes(key) ? selected.filter((k) => k !== key) : [...selected, key]);
  const metrics = [...new Set([...summaryKeys, ...summarySelected.map((c) => c.key)])].sort((a, b) => a.localeCompare(b));
  const presets = summaryPresets(metrics);
  const isOn = (column: SummaryColumn) => summarySelected.some((c) => sameColumn(c, column));
  const toggleSummary = (column: SummaryColumn) =>
    onSummaryChange?.(isOn(column) ? summarySelected.filter((c) => !sameColumn(c, column)) : [...summarySelected, column]);
  const aggLabel: Record<SummaryAgg, string> = { last: 'last', min: 'min', max: 'max', mean: 'mean' };
  const count = selected.length + summarySelected.length;

  return (
    <details className="picker" ref={ref} data-testid="column-picker">
      <summary className="btn btn-sm">Columns{count ? ` (${count})` : ''} ▾</summary>
      {/* biome-ignore lint/a11y/useSemanticElements: a fieldset brings a border, padding and min-inline-size: min-content that break this row's layout */}
      <div className="picker-menu" role="group" aria-label="Config columns">
        <div className="picker-title">Config keys as columns</div>
        {all.length === 0 ? <p className="muted small">No config recorded in these runs yet.</p> : null}
        {all.map((key) => (
          <label key={key} className="picker-option">
            <input type="checkbox" checked={selected.includes(key)} onChange={() => toggle(key)} data-testid="column-option" value={key} />
            <span className="mono">{key}</span>
          </label>
        ))}
        {onSummaryChange && presets.length ? (
          <>
            <div className="picker-title picker-title-sep">System summaries</div>
            {presets.map((preset) => (
              <label key={`${preset.agg}:${preset.key}`} className="picker-option" title={`${preset.agg} of ${preset.key}`}>
                <input
                  type="checkbox"
                  checked={isOn(preset)}
                  onChange={() => toggleSummary({ key: preset.key, agg: preset.agg })}
                  data-testid="summary-preset-option"
                  value={`${preset.agg}:${preset.key}`}
                />
                <span>{preset.label}</span>
              </label>
            ))}
          </>
        ) : null}
        {onSummaryChange && metrics.length ? (
          <>
            <div className="picker-title picker-title-sep">Summary metrics (last value; min, max, mean)</div>
            {metrics.map((key) => (
              <div key={key} className="picker-option picker-option-aggs">
                <label>
                  <input
                    type="checkbox"
                    checked={isOn({ key, agg: 'last' })}
                    onChange={() => toggleSummary({ key, agg: 'last' })}
                    data-testid="summary-column-option"
                    value={key}
                  />
                  <span className="mono">summary.{key}</span>
                </label>
                <span className="picker-aggs">
                  {SUMMARY_AGGS.filter((a) => a !== 'last').map((agg) => (
                    <label key={agg} className="small" title={`${agg} of ${key} as a column`}>
                      <input
                        type="checkbox"
                        checked={isOn({ key, agg })}
                        onChange={() => toggleSummary({ key, agg })}
                        data-testid="summary-agg-option"
                        value={`${agg}:${key}`}
                      />
                      {aggLabel[agg]}
                    </label>
                  ))}
                </span>
              </div>
            ))}
          </>
        ) : null}
        {count ? (
          <button
            type="button"
            className="btn-link small"
            onClick={() => {
              onChange([]);
              onSummaryChange?.([]);
            }}
          >
            Hide all
          </button>
        ) : null}
      </div>
    </details>
  );
}
