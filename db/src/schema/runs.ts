// Runs (one kernel session of one notebook) and the cells executed in them.
// Metric keys, points and rollups hang off runs.id (schema/metrics.ts).
import { sql } from 'drizzle-orm';
import { type AnyPgColumn, bigint, index, integer, jsonb, pgEnum, pgTable, primaryKey, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from './auth.ts';
import { id, timestamps, tstz } from './columns.ts';
import { projects } from './teams.ts';

export interface MetricSummary {
  last: number | string | null;
  step: number | null;
  /** the first logged step, for chart extents (null: points from before it was kept) */
  first?: number | null;
  min: number | null;
  max: number | null;
  /** mean of the finite values (absent before rollup sums existed) */
  mean?: number | null;
  /** set by cellmark.summary[...] = value, which wins over the logged last value */
  value?: unknown;
}

export const runStatuses = ['running', 'finished', 'crashed'] as const;
export type RunStatus = (typeof runStatuses)[number];
export const runStatusEnum = pgEnum('run_status', runStatuses);

/** `running` until a path reports the end; `interrupted` is a KeyboardInterrupt. */
export const cellStatuses = ['running', 'ok', 'error', 'aborted', 'interrupted'] as const;
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
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    notes: text('notes').notNull().default(''),
    /** final value of every config key (denormalised from run_config for tables and filters) */
    config: jsonb('config').$type<Record<string, unknown>>().notNull().default({}),
    /** per metric key: last value and step, finite min and max (cellmark.summary overrides) */
    summary: jsonb('summary').$type<Record<string, MetricSummary>>().notNull().default({}),
    /** Python, packages, git, host, GPUs: sent once by the kernel side */
    environment: jsonb('environment').$type<Record<string, unknown>>(),
    /** what the kernel side said when it activated; null: no kernel-side capture */
    kernel: jsonb('kernel').$type<Record<string, unknown>>(),
    startedAt: tstz('started_at').notNull(),
    endedAt: tstz('ended_at'),
    /** last ingest or heartbeat; runs idle longer than the timeout are finished */
    lastActivityAt: tstz('last_activity_at').notNull().defaultNow(),
    /**
     * last sign of life of the kernel itself (its hello and heartbeats, never a replayed spool);
     * null: never heard from. A running run silent past the heartbeat timeout is crashed.
     */
    kernelSeenAt: tstz('kernel_seen_at'),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('runs_project_client_key_idx').on(t.projectId, t.clientKey),
    index('runs_project_started_idx').on(t.projectId, t.startedAt),
    index('runs_running_activity_idx').on(t.lastActivityAt).where(sql`${t.status} = 'running'`),
    index('runs_running_kernel_seen_idx').on(t.kernelSeenAt).where(sql`${t.status} = 'running' and ${t.kernelSeenAt} is not null`),
    index('runs_tags_idx').using('gin', t.tags),
  ],
);

/** Config values as executions changed them; runs.config holds the final values. */
export const runConfig = pgTable(
  'run_config',
  {
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    executionKey: text('execution_key').notNull(),
    key: text('key').notNull(),
    value: jsonb('value').notNull(),
    createdAt: tstz('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.executionKey, t.key] })],
);

/** Every config key used in a project, so the runs table lists them without scanning runs. */
export const projectConfigKeys = pgTable(
  'project_config_keys',
  {
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.key] })],
);

/** Blobs a run's outputs refer to (access to a blob goes through a run the user can read). */
export const runBlobs = pgTable(
  'run_blobs',
  {
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    sha256: text('sha256').notNull(),
    size: bigint('size', { mode: 'number' }).notNull(),
    mediaType: text('media_type').notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.sha256] })],
);

/** Text and rich outputs in nbformat shape (stream, execute_result, display_data, error). */
export type CellOutput =
  | { output_type: 'stream'; name: 'stdout' | 'stderr'; text: string }
  | {
      output_type: 'execute_result' | 'display_data';
      data: Record<string, unknown>;
      metadata?: Record<string, unknown>;
      execution_count?: number | null;
    }
  | { output_type: 'error'; ename: string; evalue: string; traceback: string[] };

export type CellError = { ename: string; evalue: string; traceback: string[] };

/** whose record a row's outputs come from: a finished frontend record, the kernel, a frontend record made while running */
export type CellOutputsFrom = 'frontend' | 'kernel' | 'frontend-running';

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
    /** index of the cell in the notebook when it ran (frontend only) */
    position: integer('position'),
    source: text('source').notNull(),
    outputs: jsonb('outputs').$type<CellOutput[]>().notNull().default([]),
    status: cellStatusEnum('status').notNull(),
    error: jsonb('error').$type<CellError>(),
    startedAt: tstz('started_at').notNull(),
    endedAt: tstz('ended_at'),
    /** which capture paths reported this execution: 'kernel', 'frontend' */
    capturedBy: text('captured_by').array().notNull().default(sql`'{}'::text[]`),
    /** whose outputs the row holds (server/src/domain/execution-merge.ts); null: none reported */
    outputsFrom: text('outputs_from').$type<CellOutputsFrom>(),
    ...timestamps,
  },
  (t) => [uniqueIndex('run_cells_run_execution_idx').on(t.runId, t.executionKey), index('run_cells_run_order_idx').on(t.runId, t.startedAt)],
);
