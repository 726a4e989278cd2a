// Metric points (narrow rows, interned keys) and their multi-resolution rollups, so a chart
// of a long run reads a few thousand bucket rows instead of millions of points.

import { sql } from 'drizzle-orm';
import { bigint, doublePrecision, integer, pgTable, primaryKey, serial, smallint, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { bytea, tstz } from './columns.ts';
import { projects } from './teams.ts';

/** Metric names, interned per project ("train/loss" → 7). */
export const metricKeys = pgTable(
  'metric_keys',
  {
    id: serial('id').primaryKey(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
  },
  (t) => [uniqueIndex('metric_keys_project_key_idx').on(t.projectId, t.key)],
);

/** One logged value. (run, key, step) is unique: a retried batch writes nothing twice. */
export const metricPoints = pgTable(
  'metric_points',
  {
    /** no foreign key (a per-row check halves ingest speed): a trigger on runs deletes a run's rows, see migration 0006 */
    runId: uuid('run_id').notNull(),
    keyId: integer('key_id').notNull(),
    step: bigint('step', { mode: 'number' }).notNull(),
    /** NaN and ±Infinity are stored as such (double precision has them) */
    value: doublePrecision('value').notNull(),
    time: tstz('time').notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.keyId, t.step] })],
);

/**
 * Buckets of 8^level steps (level 1 = 8 steps … level 6 = 262,144 steps), maintained at
 * ingest. min/max cover finite values only; non-finite values are counted, drawn as gaps.
 */
export const metricRollups = pgTable(
  'metric_rollups',
  {
    /** no foreign key (a per-row check halves ingest speed): a trigger on runs deletes a run's rows, see migration 0006 */
    runId: uuid('run_id').notNull(),
    keyId: integer('key_id').notNull(),
    level: smallint('level').notNull(),
    /** floor(step / 8^level) */
    bucket: bigint('bucket', { mode: 'number' }).notNull(),
    count: integer('count').notNull(),
    finiteCount: integer('finite_count').notNull(),
    min: doublePrecision('min'),
    max: doublePrecision('max'),
    /** sum of the finite values (mean = sum / finiteCount) */
    sum: doublePrecision('sum'),
    /** value at the greatest step in the bucket (may be non-finite) */
    last: doublePrecision('last').notNull(),
    lastStep: bigint('last_step', { mode: 'number' }).notNull(),
    firstTime: tstz('first_time').notNull(),
    lastTime: tstz('last_time').notNull(),
    /**
     * The bucket as one fixed-width big-endian record, kept by Postgres, so a chart reads
     * ~200k buckets as a few string_agg'ed byteas instead of rows (see series.ts):
     * min, max (NaN: none), last (f8), last step (i8), count, finite count (i4), first time (epoch ms, f8).
     */
    packed: bytea('packed').generatedAlwaysAs(
      sql`float8send(coalesce(min, 'NaN'::float8)) || float8send(coalesce(max, 'NaN'::float8)) || float8send(last) || int8send(last_step) || int4send(count) || int4send(finite_count) || float8send((extract(epoch from (first_time - timestamptz '1970-01-01 00:00:00+00')) * 1000)::float8)`,
    ),
    /**
     * On levels 2 and up: the `packed` records of the bucket's children (level − 1), in bucket
     * order, so a chart reads level L as 8× fewer rows of level L + 1 (see series.ts). Kept by
     * ingest; null on level 1 (its children are points).
     */
    children: bytea('children'),
  },
  (t) => [primaryKey({ columns: [t.runId, t.keyId, t.level, t.bucket] })],
);
