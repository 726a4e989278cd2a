// Runs (one kernel session of one notebook) and the cells executed in them.
// Metrics, artifacts and tables hang off runs.id in later migrations.
import {
  type AnyPgColumn,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { users } from './auth.ts';
import { id, timestamps, tstz } from './columns.ts';
import { projects } from './teams.ts';

export const runStatuses = ['running', 'finished', 'crashed'] as const;
export type RunStatus = (typeof runStatuses)[number];
export const runStatusEnum = pgEnum('run_status', runStatuses);

export const cellStatuses = ['ok', 'error', 'aborted'] as const;
export type CellStatus = (typeof cellStatuses)[number];
export const cellStatusEnum = pgEnum('cell_status', cellStatuses);

export const runs = pgTable(
  'runs',
  {
    id: id(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id),
    /** chosen by the client so that a retried "start run" never creates a second run */
    clientKey: text('client_key').notNull(),
    name: text('name').notNull(),
    notebookPath: text('notebook_path').notNull(),
    kernelName: text('kernel_name'),
    host: text('host'),
    status: runStatusEnum('status').notNull().default('running'),
    previousRunId: uuid('previous_run_id').references((): AnyPgColumn => runs.id, { onDelete: 'set null' }),
    startedAt: tstz('started_at').notNull(),
    endedAt: tstz('ended_at'),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('runs_project_client_key_idx').on(t.projectId, t.clientKey),
    index('runs_project_started_idx').on(t.projectId, t.startedAt),
  ],
);

/** Text and rich outputs in nbformat shape (stream, execute_result, display_data, error). */
export type CellOutput =
  | { output_type: 'stream'; name: 'stdout' | 'stderr'; text: string }
  | { output_type: 'execute_result' | 'display_data'; data: Record<string, unknown>; execution_count?: number | null }
  | { output_type: 'error'; ename: string; evalue: string; traceback: string[] };

export type CellError = { ename: string; evalue: string; traceback: string[] };

export const runCells = pgTable(
  'run_cells',
  {
    id: id(),
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    /** identifies one execution (the execute_request msg_id); makes ingest idempotent */
    executionKey: text('execution_key').notNull(),
    /** nbformat cell id */
    cellId: text('cell_id'),
    executionCount: integer('execution_count'),
    source: text('source').notNull(),
    outputs: jsonb('outputs').$type<CellOutput[]>().notNull().default([]),
    status: cellStatusEnum('status').notNull(),
    error: jsonb('error').$type<CellError>(),
    startedAt: tstz('started_at').notNull(),
    endedAt: tstz('ended_at').notNull(),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('run_cells_run_execution_idx').on(t.runId, t.executionKey),
    index('run_cells_run_order_idx').on(t.runId, t.startedAt),
  ],
);
