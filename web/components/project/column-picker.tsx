// Which config keys and summary metrics show as columns in the runs table; remembered per
// project in this browser (config and summary columns under separate keys, so a config key
// that happens to start with "summary." stays a config key).
'use client';
import { useCallback, useEffect, useRef, useState } from 'react';

type ColumnKind = 'runs-columns' | 'runs-summary-columns';

const storageKey = (kind: ColumnKind, projectId: string) => `cellmark:${kind}:${projectId}`;

function readStored(kind: ColumnKind, projectId: string): string[] {
  try {
    const parsed: unknown = JSON.parse(window.localStorage.getItem(storageKey(kind, projectId)) ?? '[]');
    return Array.isArray(parsed) ? parsed.filter((k): k is string => typeof k === 'string') : [];
  } catch {
    // storage disabled or a hand-edited value: start with no config columns
    return [];
  }
}

/** The chosen config columns; read after mount, so the server render and hydration agree. */
export const useConfigColumns = (projectId: string | undefined) => useStoredColumns('runs-columns', projectId);
/** The chosen summary-metric columns (last value of each key). */
export const useSummaryColumns = (projectId: string | undefined) => useStoredColumns('runs-summary-columns', projectId);

function useStoredColumns(kind: ColumnKind, projectId: string | undefined): [string[], (keys: string[]) => void] {
  const [columns, setColumns] = useState<string[]>([]);
  useEffect(() => {
    if (projectId) setColumns(readStored(kind, projectId));
  }, [kind, projectId]);
  const update = useCallback(
    (keys: string[]) => {
      setColumns(keys);
      if (!projectId) return;
      try {
        window.localStorage.setItem(storageKey(kind, projectId), JSON.stringify(keys));
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
  /** metric keys whose last value can be a column */
  summaryKeys?: string[];
  summarySelected?: string[];
  onSummaryChange?: (next: string[]) => void;
}) {
  const ref = useRef<HTMLDetailsElement>(null);
  // a menu closes when you click elsewhere
  useEffect(() => {
    const close = (e: MouseEvent) => {
      if (ref.current?.open && !ref.current.contains(e.target as Node)) ref.current.open = false;
    };
    document.addEventListener('click', close);
    return () => document.removeEventListener('click', close);
  }, []);
  const all = [...new Set([...keys, ...selected])].sort((a, b) => a.localeCompare(b));
  const toggle = (key: string) => onChange(selected.includes(key) ? selected.filter((k) => k !== key) : [...selected, key]);
  const metrics = [...new Set([...summaryKeys, ...summarySelected])].sort((a, b) => a.localeCompare(b));
  const toggleSummary = (key: string) => onSummaryChange?.(summarySelected.includes(key) ? summarySelected.filter((k) => k !== key) : [...summarySelected, key]);
  const count = selected.length + summarySelected.length;

  return (
    <details className="picker" ref={ref} data-testid="column-picker">
      <summary className="btn btn-sm">Columns{count ? ` (${count})` : ''} ▾</summary>
      <div className="picker-menu" role="group" aria-label="Config columns">
        <div className="picker-title">Config keys as columns</div>
        {all.length === 0 ? <p className="muted small">No config recorded in these runs yet.</p> : null}
        {all.map((key) => (
          <label key={key} className="picker-option">
            <input type="checkbox" checked={selected.includes(key)} onChange={() => toggle(key)} data-testid="column-option" value={key} />
            <span className="mono">{key}</span>
          </label>
        ))}
        {onSummaryChange && metrics.length ? (
          <>
            <div className="picker-title picker-title-sep">Summary metrics (last value)</div>
            {metrics.map((key) => (
              <label key={key} className="picker-option">
                <input type="checkbox" checked={summarySelected.includes(key)} onChange={() => toggleSummary(key)} data-testid="summary-column-option" value={key} />
                <span className="mono">summary.{key}</span>
              </label>
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
