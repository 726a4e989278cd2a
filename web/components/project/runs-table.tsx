// The runs of a project as a sortable table (every column sorts by clicking its header), with
// tags, the chosen config keys and summary metrics as extra columns, and (when the page asks)
// a checkbox per run to pick runs for comparing.
'use client';
import {
  type ColumnDef,
  flexRender,
  getCoreRowModel,
  getSortedRowModel,
  type SortingState,
  useReactTable,
} from '@tanstack/react-table';
import Link from 'next/link';
import { useMemo, useState } from 'react';
import { StatusBadge } from '@/components/status-badge.tsx';
import { formatValue, valueText } from '@/lib/charts/series-data.ts';
import { formatConfigValue } from '@/lib/config.ts';
import { exactTime, formatDuration, relativeTime, runDurationMs } from '@/lib/format.ts';
import type { Outputs } from '@/lib/trpc.ts';
import { useNow } from '@/lib/use-now.ts';

export type RunRow = Outputs['runs']['list']['runs'][number];

/** Numbers by value, everything else by its text; missing values sort last (sortUndefined). */
function compareConfig(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return formatConfigValue(a).localeCompare(formatConfigValue(b), undefined, { numeric: true });
}

function configColumn(key: string, runs: RunRow[]): ColumnDef<RunRow> {
  const values = runs.map((r) => r.config[key]).filter((v) => v !== undefined);
  const numeric = values.length > 0 && values.every((v) => typeof v === 'number');
  return {
    id: `config:${key}`,
    header: () => (
      <span className="config-col" title={`config: ${key}`}>
        {key}
      </span>
    ),
    accessorFn: (r) => r.config[key],
    sortingFn: (a, b, id) => compareConfig(a.getValue(id), b.getValue(id)),
    sortUndefined: 'last',
    cell: ({ row }) =>
      key in row.original.config ? (
        <span className="mono config-cell" title={formatConfigValue(row.original.config[key])}>
          {formatConfigValue(row.original.config[key])}
        </span>
      ) : (
        <span className="muted">—</span>
      ),
    meta: { numeric },
  };
}

/** The run's summary for a metric: an explicit cellmark.summary value, else the last logged value. */
function summaryOf(run: RunRow, key: string): unknown {
  const entry = run.summary[key] as { last?: unknown; value?: unknown } | undefined;
  if (!entry) return undefined;
  return entry.value !== undefined ? entry.value : entry.last;
}

function summaryColumn(key: string): ColumnDef<RunRow> {
  return {
    id: `summary:${key}`,
    header: () => (
      <span className="config-col" title={`last value of ${key}`}>
        summary.{key}
      </span>
    ),
    // numbers sort by value; NaN, ±Infinity and other values after them, missing last
    accessorFn: (r) => summaryOf(r, key),
    sortingFn: (a, b, id) => compareConfig(a.getValue(id), b.getValue(id)),
    sortUndefined: 'last',
    cell: ({ row }) => {
      const value = summaryOf(row.original, key);
      if (value === undefined) return <span className="muted">—</span>;
      const text = typeof value === 'number' || typeof value === 'string' || value === null ? valueText(value, formatValue) : formatConfigValue(value);
      return (
        <span className="mono config-cell" title={typeof value === 'number' ? String(value) : text}>
          {text}
        </span>
      );
    },
    meta: { numeric: true },
  };
}

function selectColumn(selection: Selection): ColumnDef<RunRow> {
  return {
    id: 'select',
    enableSorting: false,
    header: ({ table }) => {
      const ids = table.getRowModel().rows.map((r) => r.id);
      const all = ids.length > 0 && ids.every((id) => selection.selected.has(id));
      return (
        <input
          type="checkbox"
          aria-label="Select all runs"
          checked={all}
          onChange={() => selection.onChange(all ? new Set() : new Set(ids))}
          onClick={(e) => e.stopPropagation()}
          data-testid="select-all-runs"
        />
      );
    },
    cell: ({ row }) => (
      <input
        type="checkbox"
        aria-label={`Select ${row.original.name}`}
        checked={selection.selected.has(row.id)}
        onChange={() => {
          const next = new Set(selection.selected);
          if (!next.delete(row.id)) next.add(row.id);
          selection.onChange(next);
        }}
        data-testid="run-select"
      />
    ),
  };
}

interface Selection {
  selected: ReadonlySet<string>;
  onChange: (next: Set<string>) => void;
}

function columns(
  base: string,
  now: number,
  configKeys: string[],
  summaryKeys: string[],
  runs: RunRow[],
  tagHref: (tag: string) => string,
  selection: Selection | undefined,
): ColumnDef<RunRow>[] {
  return [
    ...(selection ? [selectColumn(selection)] : []),
    {
      id: 'name',
      header: 'Name',
      accessorFn: (r) => r.name.toLowerCase(),
      cell: ({ row }) => (
        <Link href={`${base}/runs/${row.original.id}`} className="list-link">
          {row.original.name}
        </Link>
      ),
    },
    {
      id: 'notebook',
      header: 'Notebook',
      accessorFn: (r) => r.notebookPath,
      cell: ({ row }) => (
        <span className="mono truncate" title={row.original.notebookPath}>
          {row.original.notebookPath}
        </span>
      ),
    },
    { id: 'user', header: 'User', accessorFn: (r) => r.user.name.toLowerCase(), cell: ({ row }) => row.original.user.name },
    {
      id: 'status',
      header: 'Status',
      accessorFn: (r) => r.status,
      cell: ({ row }) => <StatusBadge status={row.original.status} />,
    },
    {
      id: 'started',
      header: 'Started',
      accessorFn: (r) => new Date(r.startedAt).getTime(),
      cell: ({ row }) => <span title={exactTime(row.original.startedAt)}>{relativeTime(row.original.startedAt, now)}</span>,
    },
    {
      id: 'duration',
      header: 'Duration',
      // unknown durations (crashed without an end) sort below every known one
      accessorFn: (r) => runDurationMs(r, now) ?? -1,
      cell: ({ getValue }) => {
        const ms = getValue<number>();
        return ms < 0 ? <span className="muted">—</span> : formatDuration(ms);
      },
      meta: { numeric: true },
    },
    { id: 'cells', header: 'Cells', accessorFn: (r) => r.cellCount, meta: { numeric: true } },
    {
      id: 'tags',
      header: 'Tags',
      accessorFn: (r) => r.tags.join(' ').toLowerCase(),
      cell: ({ row }) => (
        <span className="table-tags">
          {row.original.tags.map((tag) => (
            <Link key={tag} className="chip chip-sm" href={tagHref(tag)} title={`Only runs tagged “${tag}”`}>
              {tag}
            </Link>
          ))}
        </span>
      ),
    },
    ...configKeys.map((key) => configColumn(key, runs)),
    ...summaryKeys.map(summaryColumn),
  ];
}

export function RunsTable({
  runs,
  base,
  configKeys = [],
  summaryKeys = [],
  tagHref = (tag) => `${base}?tag=${encodeURIComponent(tag)}`,
  selected,
  onSelectedChange,
}: {
  runs: RunRow[];
  base: string;
  /** config keys shown as columns, in this order */
  configKeys?: string[];
  /** metric keys whose summary (last value) shows as a column */
  summaryKeys?: string[];
  tagHref?: (tag: string) => string;
  /** with both: a checkbox column to pick runs */
  selected?: ReadonlySet<string>;
  onSelectedChange?: (next: Set<string>) => void;
}) {
  const anyRunning = runs.some((r) => r.status === 'running');
  const now = useNow(1000, anyRunning);
  const [sorting, setSorting] = useState<SortingState>([{ id: 'started', desc: true }]);
  const selection = useMemo(() => (selected && onSelectedChange ? { selected, onChange: onSelectedChange } : undefined), [selected, onSelectedChange]);
  const cols = useMemo(
    () => columns(base, now, configKeys, summaryKeys, runs, tagHref, selection),
    [base, now, configKeys, summaryKeys, runs, tagHref, selection],
  );
  const table = useReactTable({
    data: runs,
    columns: cols,
    state: { sorting },
    onSortingChange: setSorting,
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: getSortedRowModel(),
    getRowId: (r) => r.id,
  });

  return (
    <div className="card table-wrap">
      <table className="table runs-table" data-testid="runs-table">
        <thead>
          {table.getHeaderGroups().map((group) => (
            <tr key={group.id}>
              {group.headers.map((header) => {
                const sorted = header.column.getIsSorted();
                const numeric = (header.column.columnDef.meta as { numeric?: boolean } | undefined)?.numeric;
                // right-aligned headers carry the arrow on the left so the label lines up with the numbers
                const arrow = (
                  <span className="sort" aria-hidden="true">
                    {sorted === 'asc' ? '▲' : sorted === 'desc' ? '▼' : ''}
                  </span>
                );
                return (
                  <th
                    key={header.id}
                    className={`${header.column.getCanSort() ? 'sortable' : 'select-col'}${numeric ? ' num' : ''}`}
                    aria-sort={sorted === 'asc' ? 'ascending' : sorted === 'desc' ? 'descending' : 'none'}
                    onClick={header.column.getToggleSortingHandler()}
                    data-column={header.column.id}
                  >
                    {numeric ? arrow : null}
                    {flexRender(header.column.columnDef.header, header.getContext())}
                    {numeric ? null : arrow}
                  </th>
                );
              })}
            </tr>
          ))}
        </thead>
        <tbody>
          {table.getRowModel().rows.map((row) => (
            <tr key={row.id} data-testid="run-row" data-run-id={row.id} data-status={row.original.status} aria-selected={selection ? selection.selected.has(row.id) : undefined}>
              {row.getVisibleCells().map((cell) => {
                const numeric = (cell.column.columnDef.meta as { numeric?: boolean } | undefined)?.numeric;
                return (
                  <td key={cell.id} className={numeric ? 'num' : undefined} data-column={cell.column.id}>
                    {flexRender(cell.column.columnDef.cell, cell.getContext())}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
