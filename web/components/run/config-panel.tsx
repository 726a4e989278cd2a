// The run's config: final value per key; a key expands to where it changed ([n] → value),
// each change linking to its execution on the page.
'use client';
import { Fragment, useMemo, useState } from 'react';
import { configRows, formatConfigValue } from '@/lib/config.ts';
import type { Outputs } from '@/lib/trpc.ts';
import { executionHref } from './cell-view.tsx';
import './run-panels.css';

type RunDetail = Outputs['runs']['get'];

export function ConfigPanel({ data }: { data: RunDetail }) {
  const rows = useMemo(() => configRows(data.run.config, data.configHistory), [data.run.config, data.configHistory]);
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const toggle = (key: string) =>
    setOpen((prev) => {
      const next = new Set(prev);
      if (!next.delete(key)) next.add(key);
      return next;
    });

  return (
    <section className="card panel" data-testid="config" aria-labelledby="config-title">
      <div className="panel-head">
        <h2 id="config-title">Config</h2>
        {rows.length ? <span className="muted small">{rows.length} keys</span> : null}
      </div>
      {rows.length === 0 ? (
        <p className="muted panel-body">
          {data.capture.kernel
            ? 'No config recorded. Simple top-level values (numbers, strings, small lists) are picked up as cells run, or set them with cellmark.config.update({...}).'
            : 'Not captured: config comes from the kernel side, which was not active for this run.'}
        </p>
      ) : (
        <div className="panel-scroll">
          <table className="table config-table" data-testid="config-table">
            <thead>
              <tr>
                <th>Key</th>
                <th>Value</th>
                <th className="num">Changes</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => {
                const expanded = open.has(row.key);
                const last = row.changes.at(-1);
                return (
                  <Fragment key={row.key}>
                    <tr data-testid="config-row" data-key={row.key} aria-expanded={expanded} className="clickable" onClick={() => toggle(row.key)}>
                      <td className="mono config-key">{row.key}</td>
                      <td className="mono config-value" data-testid="config-value" title={formatConfigValue(row.value)}>
                        {formatConfigValue(row.value)}
                      </td>
                      <td className="num">
                        <button
                          type="button"
                          className="btn-link small"
                          aria-expanded={expanded}
                          onClick={(e) => {
                            e.stopPropagation();
                            toggle(row.key);
                          }}
                        >
                          {row.changes.length > 1 ? `${row.changes.length} changes` : last ? `set in [${last.executionCount ?? '?'}]` : '—'}{' '}
                          {expanded ? '▾' : '▸'}
                        </button>
                      </td>
                    </tr>
                    {expanded ? (
                      <tr className="config-history-row">
                        <td colSpan={3}>
                          <ol className="config-history" data-testid="config-history">
                            {row.changes.map((change) => (
                              <li key={change.executionKey}>
                                <a href={executionHref(change.executionKey)} className="mono" data-testid="config-change-link">
                                  [{change.executionCount ?? '?'}]
                                </a>
                                <span className="mono">{formatConfigValue(change.value)}</span>
                              </li>
                            ))}
                            {row.changes.length === 0 ? <li className="muted">no recorded change</li> : null}
                          </ol>
                        </td>
                      </tr>
                    ) : null}
                  </Fragment>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
