// Which config keys show as columns in the runs table; remembered per project in this browser.
'use client';
import { useCallback, useEffect, useRef, useState } from 'react';

const storageKey = (projectId: string) => `cellmark:runs-columns:${projectId}`;

function readStored(projectId: string): string[] {
  try {
    const parsed: unknown = JSON.parse(window.localStorage.getItem(storageKey(projectId)) ?? '[]');
    return Array.isArray(parsed) ? parsed.filter((k): k is string => typeof k === 'string') : [];
  } catch {
    // storage disabled or a hand-edited value: start with no config columns
    return [];
  }
}

/** The chosen config columns; read after mount, so the server render and hydration agree. */
export function useConfigColumns(projectId: string | undefined): [string[], (keys: string[]) => void] {
  const [columns, setColumns] = useState<string[]>([]);
  useEffect(() => {
    if (projectId) setColumns(readStored(projectId));
  }, [projectId]);
  const update = useCallback(
    (keys: string[]) => {
      setColumns(keys);
      if (!projectId) return;
      try {
        window.localStorage.setItem(storageKey(projectId), JSON.stringify(keys));
      } catch {
        // private mode or full storage: the choice lasts for this page only
      }
    },
    [projectId],
  );
  return [columns, update];
}

export function ColumnPicker({ keys, selected, onChange }: { keys: string[]; selected: string[]; onChange: (next: string[]) => void }) {
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

  return (
    <details className="picker" ref={ref} data-testid="column-picker">
      <summary className="btn btn-sm">Columns{selected.length ? ` (${selected.length})` : ''} ▾</summary>
      <div className="picker-menu" role="group" aria-label="Config columns">
        <div className="picker-title">Config keys as columns</div>
        {all.length === 0 ? <p className="muted small">No config recorded in these runs yet.</p> : null}
        {all.map((key) => (
          <label key={key} className="picker-option">
            <input type="checkbox" checked={selected.includes(key)} onChange={() => toggle(key)} data-testid="column-option" value={key} />
            <span className="mono">{key}</span>
          </label>
        ))}
        {selected.length ? (
          <button type="button" className="btn-link small" onClick={() => onChange([])}>
            Hide all
          </button>
        ) : null}
      </div>
    </details>
  );
}
