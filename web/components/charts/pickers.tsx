// Dropdown pickers for charts: which runs (up to 100) and which metric keys, as checkbox menus
// with a filter box; closing on a click elsewhere or Escape like the runs table's column picker.
'use client';
import { type ReactNode, useMemo, useRef, useState } from 'react';
import { StatusBadge } from '@/components/status-badge.tsx';
import { keySections, MAX_CHART_RUNS } from '@/lib/charts/selection.ts';
import { relativeTime } from '@/lib/format.ts';
import { useDismissMenu } from '@/lib/use-dismiss-menu.ts';
import './charts.css';

function Menu({ label, testId, title, children }: { label: ReactNode; testId: string; title: string; children: ReactNode }) {
  const ref = useRef<HTMLDetailsElement>(null);
  useDismissMenu(ref);
  return (
    <details className="picker picker-left" ref={ref} data-testid={testId}>
      <summary className="btn btn-sm">{label} ▾</summary>
      {/* biome-ignore lint/a11y/useSemanticElements: a fieldset brings a border, padding and min-inline-size: min-content that break this row's layout */}
      <div className="picker-menu picker-menu-wide" role="group" aria-label={title}>
        <div className="picker-title">{title}</div>
        {children}
      </div>
    </details>
  );
}

const matches = (text: string, filter: string) => text.toLowerCase().includes(filter.trim().toLowerCase());

export interface PickableRun {
  id: string;
  name: string;
  status: string;
  startedAt: string;
}

export function RunPicker({
  runs,
  selected,
  colorOf,
  onChange,
}: {
  runs: readonly PickableRun[];
  selected: readonly string[];
  colorOf: (id: string) => string | undefined;
  onChange: (ids: string[]) => void;
}) {
  const [filter, setFilter] = useState('');
  const visible = useMemo(() => runs.filter((r) => matches(r.name, filter)), [runs, filter]);
  const full = selected.length >= MAX_CHART_RUNS;
  const toggle = (id: string) => onChange(selected.includes(id) ? selected.filter((v) => v !== id) : full ? [...selected] : [...selected, id]);
  return (
    <Menu label={`Runs (${selected.length})`} testId="run-picker" title={`Runs to chart (up to ${MAX_CHART_RUNS})`}>
      <input className="input input-sm" placeholder="Filter runs" value={filter} onChange={(e) => setFilter(e.target.value)} aria-label="Filter runs" />
      <div className="picker-actions small">
        <button type="button" className="btn-link" onClick={() => onChange([...new Set([...selected, ...visible.map((r) => r.id)])].slice(0, MAX_CHART_RUNS))}>
          Select {filter ? 'matching' : 'all'}
        </button>
        <button type="button" className="btn-link" onClick={() => onChange(filter ? selected.filter((id) => !visible.some((r) => r.id === id)) : [])}>
          Clear
        </button>
        {full ? <span className="muted">limit reached</span> : null}
      </div>
      {visible.map((run) => {
        const on = selected.includes(run.id);
        return (
          <label key={run.id} className="picker-option">
            <input type="checkbox" checked={on} disabled={!on && full} onChange={() => toggle(run.id)} data-testid="run-option" value={run.id} />
            <span className="swatch" style={{ background: on ? colorOf(run.id) : 'transparent' }} />
            <span className="picker-name">{run.name}</span>
            <StatusBadge status={run.status} />
            <span className="muted small">{relativeTime(run.startedAt)}</span>
          </label>
        );
      })}
      {visible.length === 0 ? <p className="muted small">No runs match.</p> : null}
    </Menu>
  );
}

export function KeyPicker({ keys, selected, onChange }: { keys: readonly string[]; selected: readonly string[]; onChange: (keys: string[]) => void }) {
  const [filter, setFilter] = useState('');
  const sections = useMemo(() => keySections(keys.filter((k) => matches(k, filter))), [keys, filter]);
  const visible = useMemo(() => [...sections.own, ...sections.system], [sections]);
  const toggle = (key: string) => onChange(selected.includes(key) ? selected.filter((k) => k !== key) : [...selected, key]);
  const option = (key: string) => (
    <label key={key} className="picker-option">
      <input type="checkbox" checked={selected.includes(key)} onChange={() => toggle(key)} data-testid="key-option" value={key} />
      <span className="mono picker-name">{key}</span>
    </label>
  );
  return (
    <Menu label={`Metrics (${selected.length})`} testId="key-picker" title="Metric keys, one chart each">
      <input className="input input-sm" placeholder="Filter keys" value={filter} onChange={(e) => setFilter(e.target.value)} aria-label="Filter metric keys" />
      <div className="picker-actions small">
        <button type="button" className="btn-link" onClick={() => onChange([...new Set([...selected, ...visible])])}>
          Select {filter ? 'matching' : 'all'}
        </button>
        <button type="button" className="btn-link" onClick={() => onChange(filter ? selected.filter((k) => !visible.includes(k)) : [])}>
          Clear
        </button>
      </div>
      {sections.own.map(option)}
      {sections.system.length ? (
        <fieldset className="picker-section" data-testid="key-section-system">
          <legend className="picker-title picker-title-sep">System</legend>
          {sections.system.map(option)}
        </fieldset>
      ) : null}
      {keys.length === 0 ? <p className="muted small">These runs have logged no metrics yet.</p> : null}
    </Menu>
  );
}
