// Config side by side: one row per key, one column per run; by default only the keys where
// the runs disagree (a missing key counts), with a toggle for all of them.
'use client';
import { useMemo, useState } from 'react';
import { configDiff } from '@/lib/charts/config-diff.ts';
import { formatConfigValue } from '@/lib/config.ts';
import '@/components/charts/charts.css';
import './compare.css';

export interface DiffRun {
  id: string;
  name: string;
  color: string;
  config: Record<string, unknown>;
}

export function ConfigDiffTable({ runs }: { runs: readonly DiffRun[] }) {
  const [all, setAll] = useState(false);
  const rows = useMemo(() => configDiff(runs.map((r) => r.config)), [runs]);
  const differing = rows.filter((r) => r.differs).length;
  const shown = all ? rows : rows.filter((r) => r.differs);

  return (
    <section className="section" data-testid="config-diff" aria-labelledby="config-diff-title">
      <div className="section-head">
        <h2 id="config-diff-title">Config</h2>
        <span className="muted small">
          {differing} of {rows.length} keys differ
        </span>
        <span className="spacer" />
        <label className="chart-toggle small">
          <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} data-testid="config-diff-all" /> show all keys
        </label>
      </div>
      {shown.length === 0 ? (
        <div className="card empty">
          <p className="muted">{rows.length ? 'These runs have the same config.' : 'No config recorded for these runs.'}</p>
        </div>
      ) : (
        <div className="card table-wrap">
          <table className="table diff-table">
            <thead>
              <tr>
                <th>Key</th>
                {runs.map((run) => (
                  <th key={run.id} title={run.name}>
                    <span className="swatch" style={{ background: run.color }} />
                    <span className="diff-run-name">{run.name}</span>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {shown.map((row) => (
                <tr key={row.key} data-testid="config-diff-row" data-key={row.key} data-differs={row.differs}>
                  <td className="mono config-key">{row.key}</td>
                  {row.values.map((value, i) => (
                    <td
                      key={runs[i]!.id}
                      className={`mono${row.differs ? ' diff-cell' : ''}`}
                      title={value === undefined ? 'not set' : formatConfigValue(value)}
                    >
                      {value === undefined ? <span className="muted">—</span> : <span className="config-cell">{formatConfigValue(value)}</span>}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
