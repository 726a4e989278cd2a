// Runs: lifecycle from the capture paths (start, end, heartbeat, kernel hello, environment,
// name/tags/notes) and the reads behind the runs table and the run page.

import type { SQL } from '@cellmark/db';
import {
  and,
  asc,
  count,
  type Db,
  desc,
  eq,
  ilike,
  inArray,
  isNotNull,
  lt,
  metricKeys,
  projectConfigKeys,
  type RunStatus,
  runBlobs,
  runCells,
  runs,
  sql,
  teams,
  users,
} from '@cellmark/db';
import { MAX_TAGS } from '../wire.ts';
import { DomainError } from './errors.ts';
import { configHistory } from './executions.ts';
import { type Actor, assertMayEditRun, assertMayRecordRuns, requireProject, requireRun } from './policy.ts';
import { generateRunName } from './run-names.ts';
import { findProjectByPath } from './teams.ts';

export interface StartRunInput {
  project: string;
  clientKey: string;
  notebookPath: string;
  kernelName?: string | null | undefined;
  host?: string | null | undefined;
  name?: string | null | undefined;
  startedAt: Date;
  previousRunId?: string | null | undefined;
}

export function runUrl(teamSlug: string, projectSlug: string, runId: string) {
  return `/t/${teamSlug}/${projectSlug}/runs/${runId}`;
}

export async function startRun(db: Db, actor: Actor, input: StartRunInput) {
  const { project, team, role } = await findProjectByPath(db, actor, input.project);
  assertMayRecordRuns(role, team.slug);
  if (input.previousRunId) {
    const [previous] = await db.select({ projectId: runs.projectId, userId: runs.userId }).from(runs).where(eq(runs.id, input.previousRunId));
    if (!previous || previous.projectId !== project.id || previous.userId !== actor.userId) {
      throw new DomainError('INVALID_INPUT', 'previousRunId: not one of your runs in this project');
    }
  }
  // Idempotent on (project, clientKey): a retried start returns the run created the first time.
  const [inserted] = await db
    .insert(runs)
    .values({
      projectId: project.id,
      userId: actor.userId,
      clientKey: input.clientKey,
      name: input.name || generateRunName(),
      notebookPath: input.notebookPath,
      kernelName: input.kernelName ?? null,
      host: input.host ?? null,
      startedAt: input.startedAt,
      previousRunId: input.previousRunId ?? null,
    })
    .onConflictDoNothing({ target: [runs.projectId, runs.clientKey] })
    .returning();
  const run =
    inserted ??
    (
      await db
        .select()
        .from(runs)
        .where(and(eq(runs.projectId, project.id), eq(runs.clientKey, input.clientKey)))
    )[0]!;
  if (run.userId !== actor.userId) throw new DomainError('CONFLICT', "this client key belongs to another user's run");
  return { runId: run.id, name: run.name, url: runUrl(team.slug, project.slug, run.id) };
}

/** The run, checked writable by its owner (the capture paths act for the user who runs the kernel). */
async function ownRun(db: Db, actor: Actor, runId: string) {
  const { run } = await requireRun(db, actor, runId, 'write');
  if (run.userId !== actor.userId) throw new DomainError('FORBIDDEN', "only the run's owner can record into it");
  return run;
}

export async function endRun(db: Db, actor: Actor, input: { runId: string; status: 'finished' | 'crashed'; endedAt: Date }) {
  const run = await ownRun(db, actor, input.runId);
  if (run.status !== 'running') return { runId: run.id, status: run.status };
  await db.update(runs).set({ status: input.status, endedAt: input.endedAt }).where(eq(runs.id, run.id));
  return { runId: run.id, status: input.status };
}

/**
 * The kernel is alive. Only a live kernel sends heartbeats (they are never spooled), so a run
 * the crash sweep gave up on while its kernel could not reach us (a partition, a server
 * outage) is running again; a run ended `finished` stays ended.
 */
export async function heartbeat(db: Db, actor: Actor, input: { runId: string }) {
  await ownRun(db, actor, input.runId);
  const [row] = await db
    .update(runs)
    .set({
      lastActivityAt: sql`now()`,
      kernelSeenAt: sql`now()`,
      status: sql`case when ${runs.status} = 'crashed' then 'running'::run_status else ${runs.status} end`,
      endedAt: sql`case when ${runs.status} = 'crashed' then null else ${runs.endedAt} end`,
    })
    .where(eq(runs.id, input.runId))
    .returning({ status: runs.status });
  return { ok: true, status: row!.status };
}

export async function kernelHello(db: Db, actor: Actor, input: { runId: string; info: Record<string, unknown> }) {
  await ownRun(db, actor, input.runId);
  await db.update(runs).set({ kernel: input.info, lastActivityAt: sql`now()`, kernelSeenAt: sql`now()` }).where(eq(runs.id, input.runId));
  return { ok: true };
}

export const MAX_ENVIRONMENT_BYTES = 8 * 1024 * 1024;

export async function setEnvironment(db: Db, actor: Actor, input: { runId: string; environment: Record<string, unknown> }) {
  const size = Buffer.byteLength(JSON.stringify(input.environment));
  if (size > MAX_ENVIRONMENT_BYTES) throw new DomainError('INVALID_INPUT', `environment: ${size} bytes, over the limit of ${MAX_ENVIRONMENT_BYTES}`);
  const run = await ownRun(db, actor, input.runId);
  const host = (input.environment.host as { hostname?: unknown } | undefined)?.hostname;
  await db
    .update(runs)
    .set({
      environment: input.environment,
      // the kernel's machine is the run's host unless the frontend named one
      host: run.host ?? (typeof host === 'string' ? host.slice(0, 255) : null),
      lastActivityAt: sql`now()`,
    })
    .where(eq(runs.id, input.runId));
  return { ok: true };
}

export interface RunEdit {
  runId: string;
  name?: string | undefined;
  tags?: string[] | undefined;
  addTags?: string[] | undefined;
  removeTags?: string[] | undefined;
  notes?: string | undefined;
}

/** Name, tags and notes: from the kernel API and commands (owner) or the web (editors). */
export async function updateRun(db: Db, actor: Actor, edit: RunEdit) {
  const { run } = await requireRun(db, actor, edit.runId, 'write');
  assertMayEditRun(actor, run);
  let tags = edit.tags ?? run.tags;
  if (edit.addTags) tags = [...tags, ...edit.addTags.filter((t) => !tags.includes(t))];
  if (edit.removeTags) tags = tags.filter((t) => !edit.removeTags!.includes(t));
  tags = [...new Set(tags)];
  if (tags.length > MAX_TAGS) throw new DomainError('INVALID_INPUT', `tags: ${tags.length} tags, over the limit of ${MAX_TAGS}`);
  const [row] = await db
    .update(runs)
    .set({ name: edit.name ?? run.name, tags, notes: edit.notes ?? run.notes })
    .where(eq(runs.id, run.id))
    .returning({ name: runs.name, tags: runs.tags, notes: runs.notes });
  return row!;
}

/**
 * Crashes running runs whose kernel was heard from once and has been silent for longer than
 * `timeoutMs` (killed, out of memory, its machine gone), ended at its last sign of life. One
 * UPDATE: under Postgres' row locks a second process running it at the same time re-reads
 * each row and skips what the first already ended, so it is idempotent and safe with several
 * servers; a heartbeat that lands first keeps its run out.
 */
export async function crashSilentRuns(db: Db, timeoutMs: number) {
  const crashed = await db
    .update(runs)
    .set({ status: 'crashed', endedAt: runs.kernelSeenAt })
    .where(and(eq(runs.status, 'running'), isNotNull(runs.kernelSeenAt), lt(runs.kernelSeenAt, sql`now() - make_interval(secs => ${timeoutMs / 1000})`)))
    .returning({ id: runs.id });
  return crashed.length;
}

/** Finishes runs nobody has heard from for `idleMs` (a closed laptop, a killed browser): the last resort. */
export async function finishIdleRuns(db: Db, idleMs: number) {
  const finished = await db
    .update(runs)
    .set({ status: 'finished', endedAt: runs.lastActivityAt })
    .where(and(eq(runs.status, 'running'), lt(runs.lastActivityAt, sql`now() - make_interval(secs => ${idleMs / 1000})`)))
    .returning({ id: runs.id });
  return finished.length;
}

export interface RunFilter {
  /** only these runs (a share link lists what its report charts) */
  runIds?: string[] | undefined;
  status?: RunStatus[] | undefined;
  userId?: string | undefined;
  notebook?: string | undefined;
  tag?: string | undefined;
  /** config key = value (compared as JSON, so 0.001 matches 0.001 and "adam" matches "adam") */
  config?: { key: string; value: unknown }[] | undefined;
}

const cellCount = sql<number>`(select count(*)::int from ${runCells} where ${runCells.runId} = ${runs.id})`;

export interface RunPage {
  /** startedAt | name | notebook | status | user | duration | cellCount | config.<key> | summary.<key> (last or hand-set) | summary-{min,max,mean}.<key> */
  sort?: { by: string; dir: 'asc' | 'desc' } | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
}

export const MAX_RUNS_PAGE = 1000;

function sortExpression(by: string): SQL {
  if (by.startsWith('config.')) return sql`${runs.config} -> ${by.slice('config.'.length)}`;
  // numbers sort as numbers, "NaN"/"Infinity" (strings) after them; a hand-set value wins over the last logged one
  if (by.startsWith('summary.')) {
    const key = by.slice('summary.'.length);
    return sql`coalesce(${runs.summary} -> ${key} -> 'value', ${runs.summary} -> ${key} -> 'last')`;
  }
  const agg = /^summary-(min|max|mean)\.(.+)$/s.exec(by);
  if (agg) return sql`${runs.summary} -> ${agg[2]!} -> ${agg[1]!}`;
  switch (by) {
    case 'name':
      return sql`${runs.name}`;
    case 'notebook':
      return sql`${runs.notebookPath}`;
    case 'status':
      return sql`${runs.status}`;
    case 'user':
      return sql`${users.name}`;
    case 'duration':
      return sql`coalesce(${runs.endedAt}, now()) - ${runs.startedAt}`;
    case 'cellCount':
      return cellCount;
    case 'startedAt':
      return sql`${runs.startedAt}`;
    default:
      throw new DomainError('INVALID_INPUT', `sort.by: unknown column "${by}"`);
  }
}

/** Server-side filter, sort and pagination, so the table stays fluid with many thousand runs. */
export async function listRuns(db: Db, actor: Actor, projectId: string, filter: RunFilter = {}, paging: RunPage = {}) {
  await requireProject(db, actor, projectId, 'read');
  const where = [eq(runs.projectId, projectId)];
  if (filter.runIds) where.push(filter.runIds.length ? inArray(runs.id, filter.runIds) : sql`false`);
  if (filter.status?.length) where.push(inArray(runs.status, filter.status));
  if (filter.userId) where.push(eq(runs.userId, filter.userId));
  if (filter.notebook) where.push(ilike(runs.notebookPath, `%${filter.notebook.replace(/[\\%_]/g, (c) => `\\${c}`)}%`));
  if (filter.tag) where.push(sql`${runs.tags} @> array[${filter.tag}]::text[]`);
  for (const { key, value } of filter.config ?? []) where.push(sql`${runs.config} -> ${key} = ${JSON.stringify(value)}::jsonb`);
  const sort = paging.sort ?? { by: 'startedAt', dir: 'desc' };
  const direction = sort.dir === 'asc' ? sql`asc nulls last` : sql`desc nulls last`;
  const filtered = and(...where);
  // The page first (sort + limit on plain columns), then what is costly per row, for that page only.
  const [page, [{ n: total } = { n: 0 }], configKeys, summaryKeys] = await Promise.all([
    db
      .select({
        id: runs.id,
        name: runs.name,
        notebookPath: runs.notebookPath,
        status: runs.status,
        startedAt: runs.startedAt,
        endedAt: runs.endedAt,
        tags: runs.tags,
        config: runs.config,
        summary: runs.summary,
        user: { id: users.id, name: users.name },
      })
      .from(runs)
      .innerJoin(users, eq(users.id, runs.userId))
      .where(filtered)
      .orderBy(sql`${sortExpression(sort.by)} ${direction}`, desc(runs.startedAt), asc(runs.id))
      .limit(Math.min(paging.limit ?? MAX_RUNS_PAGE, MAX_RUNS_PAGE))
      .offset(paging.offset ?? 0),
    db.select({ n: count() }).from(runs).innerJoin(users, eq(users.id, runs.userId)).where(filtered),
    // every key in the project, not just the filtered runs', so column pickers keep them all
    db.select({ key: projectConfigKeys.key }).from(projectConfigKeys).where(eq(projectConfigKeys.projectId, projectId)).orderBy(projectConfigKeys.key),
    db.select({ key: metricKeys.key }).from(metricKeys).where(eq(metricKeys.projectId, projectId)).orderBy(metricKeys.key),
  ]);
  const counts = page.length
    ? await db
        .select({ runId: runCells.runId, n: count() })
        .from(runCells)
        .where(
          inArray(
            runCells.runId,
            page.map((r) => r.id),
          ),
        )
        .groupBy(runCells.runId)
    : [];
  const cellCounts = new Map(counts.map((c) => [c.runId, c.n]));
  return {
    runs: page.map((row) => ({ ...row, cellCount: cellCounts.get(row.id) ?? 0 })),
    total,
    configKeys: configKeys.map((k) => k.key),
    summaryKeys: summaryKeys.map((k) => k.key),
  };
}

export async function getRun(db: Db, actor: Actor, runId: string) {
  const { run, project, canWrite } = await requireRun(db, actor, runId, 'read');
  const [[owner], [team], cells, config, [previous], next] = await Promise.all([
    db.select({ id: users.id, name: users.name }).from(users).where(eq(users.id, run.userId)),
    db.select({ slug: teams.slug, name: teams.name }).from(teams).where(eq(teams.id, project.teamId)),
    db
      .select()
      .from(runCells)
      .where(eq(runCells.runId, runId))
      // Real execution order: kernel start time, then the kernel's own counter.
      .orderBy(asc(runCells.startedAt), sql`${runCells.executionCount} asc nulls last`, asc(runCells.createdAt)),
    configHistory(db, runId),
    run.previousRunId ? db.select({ id: runs.id, name: runs.name }).from(runs).where(eq(runs.id, run.previousRunId)) : Promise.resolve([]),
    db.select({ id: runs.id, name: runs.name }).from(runs).where(eq(runs.previousRunId, runId)),
  ]);
  const { clientKey: _k, ...rest } = run;
  return {
    run: { ...rest, user: owner ?? null, previous: previous ?? null, next: next[0] ?? null },
    project: { id: project.id, slug: project.slug, name: project.name },
    team: team!,
    canWrite,
    /** what was captured: the kernel side adds config, environment and exact timing */
    capture: { kernel: run.kernel !== null },
    cells: cells.map(({ runId: _r, createdAt: _c, updatedAt: _u, ...cell }) => cell),
    configHistory: config,
  };
}

/** Whether `sha256` belongs to an output of a run the actor can read (blob downloads). */
export async function requireRunBlob(db: Db, actor: Actor, runId: string, sha256: string) {
  await requireRun(db, actor, runId, 'read');
  const [blob] = await db
    .select()
    .from(runBlobs)
    .where(and(eq(runBlobs.runId, runId), eq(runBlobs.sha256, sha256)));
  if (!blob) throw new DomainError('NOT_FOUND', 'no such blob in this run');
  return blob;
}
