// Runs and their executed cells: ingest from the extension (idempotent, all-or-nothing)
// and the reads behind the runs table and the run page.
import {
  and,
  asc,
  type CellError,
  type CellOutput,
  type CellStatus,
  type Db,
  desc,
  eq,

  runCells,
  runs,
  sql,
  teams,
  users,
} from '@cellmark/db';
import { DomainError } from './errors.ts';
import { type Actor, requireProject, requireRun } from './policy.ts';
import { generateRunName } from './run-names.ts';
import { findProjectByPath } from './teams.ts';

export interface IngestLimits {
  maxSourceBytes: number;
  maxOutputBytes: number;
  maxCellsPerBatch: number;
}

export interface StartRunInput {
  project: string;
  clientKey: string;
  notebookPath: string;
  kernelName?: string | null | undefined;
  host?: string | null | undefined;
  name?: string | null | undefined;
  startedAt: Date;
}

export function runUrl(teamSlug: string, projectSlug: string, runId: string) {
  return `/t/${teamSlug}/${projectSlug}/runs/${runId}`;
}

export async function startRun(db: Db, actor: Actor, input: StartRunInput) {
  const { project, team, role } = await findProjectByPath(db, actor, input.project);
  if (role === 'viewer') throw new DomainError('FORBIDDEN', `your role in team "${team.slug}" is viewer; recording runs needs editor`);
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
    })
    .onConflictDoNothing({ target: [runs.projectId, runs.clientKey] })
    .returning();
  const run =
    inserted ??
    (await db.select().from(runs).where(and(eq(runs.projectId, project.id), eq(runs.clientKey, input.clientKey))))[0]!;
  if (run.userId !== actor.userId) throw new DomainError('CONFLICT', 'this client key belongs to another user\'s run');
  return { runId: run.id, name: run.name, url: runUrl(team.slug, project.slug, run.id) };
}

export interface CellInput {
  executionKey: string;
  cellId?: string | null | undefined;
  executionCount?: number | null | undefined;
  source: string;
  outputs: CellOutput[];
  status: CellStatus;
  error?: CellError | null | undefined;
  startedAt: Date;
  endedAt: Date;
}

const byteLength = (s: string) => Buffer.byteLength(s, 'utf8');
const mib = (n: number) => `${(n / 1024 / 1024).toFixed(n < 1024 * 1024 ? 3 : 1)} MiB`;

/** Checks a whole batch before anything is written, naming the offending field. */
export function validateCells(cells: CellInput[], limits: IngestLimits): void {
  if (cells.length > limits.maxCellsPerBatch) {
    throw new DomainError('INVALID_INPUT', `cells: ${cells.length} cells in one batch, over the limit of ${limits.maxCellsPerBatch}`);
  }
  cells.forEach((cell, i) => {
    const sourceBytes = byteLength(cell.source);
    if (sourceBytes > limits.maxSourceBytes) {
      throw new DomainError(
        'INVALID_INPUT',
        `cells.${i}.source: ${mib(sourceBytes)}, over the limit of ${mib(limits.maxSourceBytes)} (CELLMARK_MAX_SOURCE_BYTES)`,
      );
    }
    const outputBytes = byteLength(JSON.stringify(cell.outputs));
    if (outputBytes > limits.maxOutputBytes) {
      throw new DomainError(
        'INVALID_INPUT',
        `cells.${i}.outputs: ${mib(outputBytes)}, over the limit of ${mib(limits.maxOutputBytes)} (CELLMARK_MAX_OUTPUT_BYTES)`,
      );
    }
    if (cell.endedAt < cell.startedAt) throw new DomainError('INVALID_INPUT', `cells.${i}.endedAt: before startedAt`);
    const bad = malformedStringPath({ source: cell.source, outputs: cell.outputs, error: cell.error }, `cells.${i}`);
    if (bad) throw new DomainError('INVALID_INPUT', `${bad}: not valid Unicode (unpaired surrogate)`);
  });
}

/** JSON can carry lone surrogates ("\\ud800") that no UTF-8 column can store faithfully. */
function malformedStringPath(value: unknown, at: string): string | null {
  if (typeof value === 'string') return value.isWellFormed() ? null : at;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bad = malformedStringPath(value[i], `${at}.${i}`);
      if (bad) return bad;
    }
    return null;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const bad = malformedStringPath(k, `${at}.${k}`) ?? malformedStringPath(v, `${at}.${k}`);
      if (bad) return bad;
    }
  }
  return null;
}

/** Postgres text and jsonb cannot hold U+0000; keep the rest of the text intact. */
const NUL = /\u0000/g;
function withoutNul<T>(value: T): T {
  if (typeof value === 'string') return value.replace(NUL, '\uFFFD') as T;
  if (Array.isArray(value)) return value.map(withoutNul) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [withoutNul(k), withoutNul(v)])) as T;
  }
  return value;
}

export async function appendCells(db: Db, actor: Actor, runId: string, cells: CellInput[], limits: IngestLimits) {
  validateCells(cells, limits);
  const { run } = await requireRun(db, actor, runId, 'write');
  if (run.userId !== actor.userId) throw new DomainError('FORBIDDEN', 'cells can only be added to your own runs');
  if (!cells.length) return { accepted: 0 };
  // One statement: the batch lands whole or not at all; a retried batch inserts nothing twice.
  const rows = await db
    .insert(runCells)
    .values(
      cells.map((c) => ({
        runId,
        executionKey: c.executionKey,
        cellId: c.cellId ?? null,
        executionCount: c.executionCount ?? null,
        source: withoutNul(c.source),
        outputs: withoutNul(c.outputs),
        status: c.status,
        error: c.error ? withoutNul(c.error) : null,
        startedAt: c.startedAt,
        endedAt: c.endedAt,
      })),
    )
    .onConflictDoNothing({ target: [runCells.runId, runCells.executionKey] })
    .returning({ id: runCells.id });
  return { accepted: cells.length, inserted: rows.length };
}

export async function endRun(db: Db, actor: Actor, input: { runId: string; status: 'finished' | 'crashed'; endedAt: Date }) {
  const { run } = await requireRun(db, actor, input.runId, 'write');
  if (run.userId !== actor.userId) throw new DomainError('FORBIDDEN', 'only the run\'s owner can end it');
  if (run.status !== 'running') return { runId: run.id, status: run.status };
  await db.update(runs).set({ status: input.status, endedAt: input.endedAt }).where(eq(runs.id, run.id));
  return { runId: run.id, status: input.status };
}

const cellCount = sql<number>`(select count(*)::int from ${runCells} where ${runCells.runId} = ${runs.id})`;

export async function listRuns(db: Db, actor: Actor, projectId: string) {
  await requireProject(db, actor, projectId, 'read');
  return db
    .select({
      id: runs.id,
      name: runs.name,
      notebookPath: runs.notebookPath,
      status: runs.status,
      startedAt: runs.startedAt,
      endedAt: runs.endedAt,
      user: { id: users.id, name: users.name },
      cellCount,
    })
    .from(runs)
    .innerJoin(users, eq(users.id, runs.userId))
    .where(eq(runs.projectId, projectId))
    .orderBy(desc(runs.startedAt))
    .limit(1000);
}

export async function getRun(db: Db, actor: Actor, runId: string) {
  const { run, project } = await requireRun(db, actor, runId, 'read');
  const [[owner], [team], cells] = await Promise.all([
    db.select({ id: users.id, name: users.name }).from(users).where(eq(users.id, run.userId)),
    db.select({ slug: teams.slug, name: teams.name }).from(teams).where(eq(teams.id, project.teamId)),
    db
      .select()
      .from(runCells)
      .where(eq(runCells.runId, runId))
      // Real execution order: kernel start time, then the kernel's own counter.
      .orderBy(asc(runCells.startedAt), sql`${runCells.executionCount} asc nulls last`, asc(runCells.createdAt)),
  ]);
  return {
    run: { ...run, user: owner ?? null },
    project: { id: project.id, slug: project.slug, name: project.name },
    team: team!,
    cells: cells.map(({ runId: _r, createdAt: _c, updatedAt: _u, ...cell }) => cell),
  };
}

