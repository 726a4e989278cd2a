// Filters above the runs table: status, user, notebook (substring), tag and config values.
// They live in the URL (lib/run-filters.ts); typing is debounced so each keystroke is not a
// navigation, and a URL changed from outside (back button, a tag link) replaces what is shown.
'use client';
import { useEffect, useRef, useState } from 'react';
import { emptyFilters, filtersToQuery, hasFilters, RUN_STATUSES, type RunFilters } from '@/lib/run-filters.ts';
import './runs-table.css';

const TYPING_DELAY_MS = 350;
const serialize = (f: RunFilters) => filtersToQuery(f).toString();

export interface FilterOptions {
  users: Array<{ id: string; name: string }>;
  configKeys: string[];
  tags: string[];
}

export function RunFiltersBar({ filters, onChange, options }: { filters: RunFilters; onChange: (next: RunFilters) => void; options: FilterOptions }) {
  const [draft, setDraft] = useState(filters);
  const written = useRef(serialize(filters));
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  useEffect(() => {
    const current = serialize(filters);
    if (current === written.current) return;
    written.current = current;
    clearTimeout(timer.current);
    setDraft(filters);
  }, [filters]);
  useEffect(() => () => clearTimeout(timer.current), []);

  function change(next: RunFilters, typing = false) {
    setDraft(next);
    clearTimeout(timer.current);
    const commit = () => {
      written.current = serialize(next);
      onChange(next);
    };
    if (typing) timer.current = setTimeout(commit, TYPING_DELAY_MS);
    else commit();
  }

  const configRows = draft.config.length ? draft.config : [{ key: '', value: '' }];
  const setConfigRow = (i: number, row: { key: string; value: string } | null, typing = false) => {
    const rows = configRows.map((r, j) => (j === i ? row : r)).filter((r): r is { key: string; value: string } => r !== null);
    change({ ...draft, config: rows }, typing);
  };
  const keyOptions = (current: string) => [...new Set([...options.configKeys, ...(current ? [current] : [])])].sort((a, b) => a.localeCompare(b));
  const userKnown = !draft.userId || options.users.some((u) => u.id === draft.userId);

  return (
    <search className="filters" aria-label="Filter runs" data-testid="run-filters">
      <label className="filter">
        <span>Status</span>
        <select
          className="select select-sm"
          value={draft.status.length === 1 ? draft.status[0] : draft.status.length ? 'several' : ''}
          onChange={(e) => change({ ...draft, status: e.target.value ? [e.target.value as RunFilters['status'][number]] : [] })}
          data-testid="filter-status"
        >
          <option value="">any</option>
          {RUN_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
          {draft.status.length > 1 ? (
            <option value="several" disabled>
              {draft.status.join(', ')}
            </option>
          ) : null}
        </select>
      </label>
      <label className="filter">
        <span>User</span>
        <select className="select select-sm" value={draft.userId} onChange={(e) => change({ ...draft, userId: e.target.value })} data-testid="filter-user">
          <option value="">anyone</option>
          {options.users.map((u) => (
            <option key={u.id} value={u.id}>
              {u.name}
            </option>
          ))}
          {userKnown ? null : <option value={draft.userId}>{draft.userId}</option>}
        </select>
      </label>
      <label className="filter">
        <span>Notebook</span>
        <input
          className="input input-sm"
          type="search"
          placeholder="path contains…"
          value={draft.notebook}
          onChange={(e) => change({ ...draft, notebook: e.target.value }, true)}
          data-testid="filter-notebook"
        />
      </label>
      <label className="filter">
        <span>Tag</span>
        <input
          className="input input-sm"
          type="search"
          list="run-filter-tags"
          placeholder="tag"
          value={draft.tag}
          onChange={(e) => change({ ...draft, tag: e.target.value }, true)}
          data-testid="filter-tag"
        />
        <datalist id="run-filter-tags">
          {options.tags.map((t) => (
            <option key={t} value={t} />
          ))}
        </datalist>
      </label>
      {configRows.map((row, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: a config row is its position: the inputs are controlled, so nothing is kept per row
        <div className="filter filter-config" key={i} data-testid="filter-config">
          <span>Config</span>
          <select
            className="select select-sm"
            aria-label="Config key"
            value={row.key}
            onChange={(e) => setConfigRow(i, { ...row, key: e.target.value })}
            data-testid="filter-config-key"
          >
            <option value="">key…</option>
            {keyOptions(row.key).map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
          <span className="muted">=</span>
          <input
            className="input input-sm filter-config-value"
            aria-label="Config value"
            placeholder="value"
            title="JSON when it parses (0.001, true, [64, 64], &quot;text&quot;), otherwise text"
            value={row.value}
            disabled={!row.key}
            onChange={(e) => setConfigRow(i, { ...row, value: e.target.value }, true)}
            data-testid="filter-config-value"
          />
          {row.key || configRows.length > 1 ? (
            <button type="button" className="btn-link small" aria-label="Remove config filter" onClick={() => setConfigRow(i, null)}>
              ×
            </button>
          ) : null}
        </div>
      ))}
      {configRows.at(-1)?.key ? (
        <button type="button" className="btn-link small" onClick={() => change({ ...draft, config: [...configRows, { key: '', value: '' }] })}>
          + config filter
        </button>
      ) : null}
      {hasFilters(draft) || draft.userId || draft.status.length ? (
        <button type="button" className="btn btn-sm" onClick={() => change(emptyFilters())} data-testid="filter-clear">
          Clear filters
        </button>
      ) : null}
    </search>
  );
}
