// One page of a project's runs as a table. Sorting is the server's (runs.list sorts the whole
// project, then pages): clicking a header asks for that order; tags do not sort there and
// say so. Tags, the chosen config keys
// and summary metrics are extra columns, and (when the page asks) a checkbox per run picks
// runs for comparing.
'use client';
import { type ColumnDef, flexRender, getCoreRowModel, type SortingState, useReactTable } from '@tanstack/react-table';
import Link from 'next/link';
import { useMemo } from 'react';
import { RUN_STATUS_HINTS, StatusBadge } from '@/components/status-badge.tsx';
import { formatValue, valueText } from '@/lib/charts/series-data.ts';
import { formatConfigValue } from '@/lib/config.ts';
import { exactTime, formatDuration, relativeTime, runDurationMs } from '@/lib/format.ts';
import type { RunSort } from '@/lib/run-paging.ts';
import { type SummaryColumn, summaryColumnId, summaryColumnLabel, summaryColumnTitle, summarySortKey, summaryValue } from '@/lib/summary-columns.ts';
import type { Outputs } from '@/lib/trpc.ts';
import { useNow } from '@/lib/use-now.ts';
import './runs-table.css';

export type RunRow = Outputs['runs']['list']['runs'][number];

interface ColumnMeta {
  numeric?: boolean;
  /** runs.list sort key; absent: not sortable on the server */
  sortKey?: string;
  /** why the column does not sort */
  noSort?: string;
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
    cell: ({ row }) =>
      key in row.original.config ? (
        <span className="mono config-cell" title={formatConfigValue(row.original.config[key])}>
          {formatConfigValue(row.original.config[key])}
        </span>
      ) : (
        <span className="muted">—</span>
      ),
    meta: { numeric, sortKey: `config.${key}` } satisfies ColumnMeta,
  };
}

function summaryColumn(column: SummaryColumn): ColumnDef<RunRow> {
  const sortKey = summarySortKey(column);
  return {
    id: summaryColumnId(column),
    header: () => (
      <span className="config-col" title={summaryColumnTitle(column)}>
        {summaryColumnLabel(column)}
      </span>
    ),
    accessorFn: (r) => summaryValue(r.summary, column),
    cell: ({ row }) => {
      const value = summaryValue(row.original.summary, column);
      if (value === undefined) return <span className="muted">—</span>;
      const text = typeof value === 'number' || typeof value === 'string' || value === null ? valueText(value, formatValue) : formatConfigValue(value);
      return (
        <span className="mono config-cell" title={typeof value === 'number' ? String(value) : text}>
          {text}
        </span>
      );
    },
    meta: { numeric: true, sortKey } satisfies ColumnMeta,
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
          onChange={() => {
            // this page's runs only: picks on other pages stay
            const next = new Set(selection.selected);
            for (const id of ids)
              if (all) next.delete(id);
              else next.add(id);
            selection.onChange(next);
          }}
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
  summaryColumns: SummaryColumn[],
  runs: RunRow[],
  tagHref: (tag: string) => string,
  selection: Selection | undefined,
): ColumnDef<RunRow>[] {
  return [
    ...(selection ? [selectColumn(selection)] : []),
    {
      id: 'name',
      header: 'Name',
      accessorFn: (r) => r.name,
      meta: { sortKey: 'name' } satisfies ColumnMeta,
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
      meta: { sortKey: 'notebook' } satisfies ColumnMeta,
      cell: ({ row }) => (
        <span className="mono truncate" title={row.original.notebookPath}>
          {row.original.notebookPath}
        </span>
      ),
    },
    { id: 'user', header: 'User', accessorFn: (r) => r.user.name, meta: { sortKey: 'user' } satisfies ColumnMeta, cell: ({ row }) => row.original.user.name },
    {
      id: 'status',
      header: 'Status',
      accessorFn: (r) => r.status,
      meta: { sortKey: 'status' } satisfies ColumnMeta,
      cell: ({ row }) => <StatusBadge status={row.original.status} title={RUN_STATUS_HINTS[row.original.status]} />,
    },
    {
      id: 'started',
      header: 'Started',
      accessorFn: (r) => new Date(r.startedAt).getTime(),
      meta: { sortKey: 'startedAt' } satisfies ColumnMeta,
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
      meta: { numeric: true, sortKey: 'duration' } satisfies ColumnMeta,
    },
    { id: 'cells', header: 'Cells', accessorFn: (r) => r.cellCount, meta: { numeric: true, sortKey: 'cellCount' } satisfies ColumnMeta },
    {
      id: 'tags',
      header: 'Tags',
      accessorFn: (r) => r.tags.join(' '),
      meta: { noSort: 'Tags do not sort; filter by a tag instead' } satisfies ColumnMeta,
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
    ...summaryColumns.map(summaryColumn),
  ];
}

/** Text columns start A→Z; numbers and times start with the largest / newest. */
const firstDirection = (meta: ColumnMeta | undefined, sortKey: string): RunSort['dir'] => (meta?.numeric || sortKey === 'startedAt' ? 'desc' : 'asc');

export function RunsTable({
  runs,
  base,
  sort,
  onSortChange,
  configKeys = [],
  summaryColumns = [],
  tagHref = (tag) => `${base}?tag=${encodeURIComponent(tag)}`,
  selected,
  onSelectedChange,
}: {
  /** one page, already in the server's order */
  runs: RunRow[];
  base: string;
  sort: RunSort;
  onSortChange: (next: RunSort) => void;
  /** config keys shown as columns, in this order */
  configKeys?: string[];
  /** summary metrics (key + aggregate) shown as columns */
  summaryColumns?: SummaryColumn[];
  tagHref?: (tag: string) => string;
  /** with both: a checkbox column to pick runs */
  selected?: ReadonlySet<string>;
  onSelectedChange?: (next: Set<string>) => void;
}) {
  const anyRunning = runs.some((r) => r.status === 'running');
  const now = useNow(1000, anyRunning);
  const selection = useMemo(() => (selected && onSelectedChange ? { selected, onChange: onSelectedChange } : undefined), [selected, onSelectedChange]);
  const cols = useMemo(
    () => columns(base, now, configKeys, summaryColumns, runs, tagHref, selection),
    [base, now, configKeys, summaryColumns, runs, tagHref, selection],
  );
  const sortedColumn = cols.find((c) => (c.meta as ColumnMeta | undefined)?.sortKey === sort.by)?.id;
  const sorting: SortingState = sortedColumn ? [{ id: sortedColumn, desc: sort.dir === 'desc' }] : [];
  const table = useReactTable({
    data: runs,
    columns: cols,
    state: { sorting },
    manualSorting: true,
    enableSorting: true,
    getCoreRowModel: getCoreRowModel(),
    getRowId: (r) => r.id,
  });
  const clickSort = (meta: ColumnMeta | undefined) => {
    if (!meta?.sortKey) return;
    const dir = sort.by === meta.sortKey ? (sort.dir === 'asc' ? 'desc' : 'asc') : firstDirection(meta, meta.sortKey);
    onSortChange({ by: meta.sortKey, dir });
  };

  return (
    <div className="card table-wrap">
      <table className="table runs-table" data-testid="runs-table">
        <thead>
          {table.getHeaderGroups().map((group) => (
            <tr key={group.id}>
              {group.headers.map((header) => {
                const sorted = header.column.getIsSorted();
                const meta = header.column.columnDef.meta as ColumnMeta | undefined;
                const numeric = meta?.numeric;
                // right-aligned headers carry the arrow on the left so the label lines up with the numbers
                const arrow = (
                  <span className="sort" aria-hidden="true">
                    {sorted === 'asc' ? '▲' : sorted === 'desc' ? '▼' : ''}
                  </span>
                );
                return (
                  <th
                    key={header.id}
                    className={`${meta?.sortKey ? 'sortable' : header.column.id === 'select' ? 'select-col' : ''}${numeric ? ' num' : ''}`}
                    aria-sort={sorted === 'asc' ? 'ascending' : sorted === 'desc' ? 'descending' : 'none'}
                    onClick={() => clickSort(meta)}
                    title={meta?.noSort}
                    data-column={header.column.id}
                    data-sortable={meta?.sortKey ? 'true' : 'false'}
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
            <tr
              key={row.id}
              data-testid="run-row"
              data-run-id={row.id}
              data-status={row.original.status}
              aria-selected={selection ? selection.selected.has(row.id) : undefined}
            >
              {row.getVisibleCells().map((cell) => {
                const numeric = (cell.column.columnDef.meta as ColumnMeta | undefined)?.numeric;
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
