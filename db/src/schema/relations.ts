// drizzle relations for the relational query API (db.query.*).
import { relations } from 'drizzle-orm';
import { users } from './auth.ts';
import { reports, reportUpdates } from './reports.ts';
import { runCells, runs } from './runs.ts';
import { memberships, projects, teams } from './teams.ts';

export const teamsRelations = relations(teams, ({ many }) => ({
  memberships: many(memberships),
  projects: many(projects),
}));

export const membershipsRelations = relations(memberships, ({ one }) => ({
  team: one(teams, { fields: [memberships.teamId], references: [teams.id] }),
  user: one(users, { fields: [memberships.userId], references: [users.id] }),
}));

export const projectsRelations = relations(projects, ({ one, many }) => ({
  team: one(teams, { fields: [projects.teamId], references: [teams.id] }),
  runs: many(runs),
  reports: many(reports),
}));

export const runsRelations = relations(runs, ({ one, many }) => ({
  project: one(projects, { fields: [runs.projectId], references: [projects.id] }),
  user: one(users, { fields: [runs.userId], references: [users.id] }),
  cells: many(runCells),
}));

export const runCellsRelations = relations(runCells, ({ one }) => ({
  run: one(runs, { fields: [runCells.runId], references: [runs.id] }),
}));

export const reportsRelations = relations(reports, ({ one, many }) => ({
  project: one(projects, { fields: [reports.projectId], references: [projects.id] }),
  updates: many(reportUpdates),
}));
