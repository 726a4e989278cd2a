// The runs of a project as a sortable table (every column sorts by clicking its header), with
// tags and the chosen config keys as extra columns.
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

function columns(base: string, now: number, configKeys: string[], runs: RunRow[], tagHref: (tag: string) => string): ColumnDef<RunRow>[] {
  return [
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
  ];
}

export function RunsTable({
  runs,
  base,
  configKeys = [],
  tagHref = (tag) => `${base}?tag=${encodeURIComponent(tag)}`,
}: {
  runs: RunRow[];
  base: string;
  /** config keys shown as columns, in this order */
  configKeys?: string[];
  tagHref?: (tag: string) => string;
}) {
  const anyRunning = runs.some((r) => r.status === 'running');
  const now = useNow(1000, anyRunning);
  const [sorting, setSorting] = useState<SortingState>([{ id: 'started', desc: true }]);
  const cols = useMemo(() => columns(base, now, configKeys, runs, tagHref), [base, now, configKeys, runs, tagHref]);
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
                    className={`sortable${numeric ? ' num' : ''}`}
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
            <tr key={row.id} data-testid="run-row" data-run-id={row.id} data-status={row.original.status}>
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
