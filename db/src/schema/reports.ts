// Reports: a Yjs document per report, stored as a snapshot plus the append-only log of the
// updates made since; versions (named or automatic) and view-only share links hang off it.
import { bigint, bigserial, index, jsonb, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { users } from './auth.ts';
import { bytea, id, timestamps, tstz } from './columns.ts';
import { projects } from './teams.ts';

export const reports = pgTable(
  'reports',
  {
    id: id(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    title: text('title').notNull(),
    createdBy: text('created_by')
      .notNull()
      .references(() => users.id),
    deletedAt: tstz('deleted_at'),
    ...timestamps,
  },
  (t) => [index('reports_project_idx').on(t.projectId)],
);

export const reportUpdates = pgTable(
  'report_updates',
  {
    seq: bigserial('seq', { mode: 'number' }).primaryKey(),
    reportId: uuid('report_id')
      .notNull()
      .references(() => reports.id, { onDelete: 'cascade' }),
    update: bytea('update').notNull(),
    userId: text('user_id').references(() => users.id, { onDelete: 'set null' }),
    createdAt: tstz('created_at').notNull().defaultNow(),
  },
  (t) => [index('report_updates_report_seq_idx').on(t.reportId, t.seq)],
);

/**
 * Update rows that could not be applied to the report's document (Yjs threw), moved out of
 * report_updates by the load that found them so the report opens from what does apply. Kept
 * with the reason, never deleted silently: an operator can inspect them (and the bytes).
 */
export const reportQuarantine = pgTable(
  'report_quarantine',
  {
    reportId: uuid('report_id')
      .notNull()
      .references(() => reports.id, { onDelete: 'cascade' }),
    /** the row's seq in report_updates */
    seq: bigint('seq', { mode: 'number' }).notNull(),
    update: bytea('update').notNull(),
    userId: text('user_id').references(() => users.id, { onDelete: 'set null' }),
    /** what Yjs said when the row was applied */
    reason: text('reason').notNull(),
    /** when the row was stored, and when it was moved here */
    storedAt: tstz('stored_at').notNull(),
    quarantinedAt: tstz('quarantined_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.reportId, t.seq] })],
);

/**
 * The compacted part of a report's log: the merge of every update row that compaction
 * deleted. A load is this state plus whatever rows remain in report_updates (compaction
 * deletes exactly the rows it merged, so the two never overlap and nothing is lost).
 */
export const reportSnapshots = pgTable('report_snapshots', {
  reportId: uuid('report_id')
    .primaryKey()
    .references(() => reports.id, { onDelete: 'cascade' }),
  state: bytea('state').notNull(),
  /** highest seq merged so far (informational: rows below it may still remain) */
  uptoSeq: bigint('upto_seq', { mode: 'number' }).notNull(),
  /** rows merged over all compactions */
  mergedUpdates: bigint('merged_updates', { mode: 'number' }).notNull().default(0),
  /** userId → highest seq of theirs merged here; versions read their authors from it */
  authors: jsonb('authors').$type<Record<string, number>>().notNull().default({}),
  ...timestamps,
});

/** A point in a report's history: automatic (editing went quiet) or named on demand. */
export const reportVersions = pgTable(
  'report_versions',
  {
    id: id(),
    reportId: uuid('report_id')
      .notNull()
      .references(() => reports.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['auto', 'named'] }).notNull(),
    name: text('name'),
    /** who asked for a named version (null for automatic ones) */
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    /** highest update seq the snapshot covers */
    uptoSeq: bigint('upto_seq', { mode: 'number' }).notNull(),
    /** users whose updates it covers since the previous version */
    authors: text('authors').array().notNull().default([]),
    /** the whole document at this point, as one Yjs update */
    snapshot: bytea('snapshot').notNull(),
    createdAt: tstz('created_at').notNull().defaultNow(),
  },
  (t) => [index('report_versions_report_idx').on(t.reportId, t.createdAt)],
);

/** View-only links. Only a SHA-256 of the token is kept, as for API tokens. */
export const reportShares = pgTable(
  'report_shares',
  {
    id: id(),
    reportId: uuid('report_id')
      .notNull()
      .references(() => reports.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull().unique(),
    prefix: text('prefix').notNull(),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    revokedAt: tstz('revoked_at'),
    ...timestamps,
  },
  (t) => [index('report_shares_report_idx').on(t.reportId)],
);

/**
 * Images uploaded into a report. The bytes are a content-addressed blob; this row ties the
 * blob to the report, so reading it goes through the report's access (members, share links)
 * and an image of one report is never reachable through another.
 */
export const reportImages = pgTable(
  'report_images',
  {
    reportId: uuid('report_id')
      .notNull()
      .references(() => reports.id, { onDelete: 'cascade' }),
    sha256: text('sha256').notNull(),
    size: bigint('size', { mode: 'number' }).notNull(),
    /** sniffed from the bytes on upload (png, jpeg, gif, webp), never the client's header */
    mediaType: text('media_type').notNull(),
    uploadedBy: text('uploaded_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: tstz('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.reportId, t.sha256] })],
);
