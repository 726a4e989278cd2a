// Reports: a Yjs document per report, stored as the append-only log of its updates.
import { bigserial, index, pgTable, text, uuid } from 'drizzle-orm/pg-core';
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
