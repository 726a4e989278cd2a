// What a report's view-only share link may read besides the document itself: the runs and
// metric keys that the report's run-chart blocks chart, as the stored document says now —
// nothing else of the project. The document is read from the report store (cached per
// report until something new is stored); the link is checked on every read, so a revoked one
// stops at once. A block that charts "runs matching a filter" grants the runs that filter
// selects in the report's project, now (the same query the block's own view runs).
//
// A link holder never filters or sorts the project's runs: asked for a block's runs, the server
// answers with the block's own settings, and the rows carry only what a chart shows of a run
// (id, name, status, start). Filtering or sorting on anything else would let a reader guess
// hidden values one query at a time (is this run's config lr = 0.003?).
import { and, type Db, desc, eq, inArray, type RunStatus, runStatuses, runs } from '@cellmark/db';
import * as Y from 'yjs';
import { DomainError } from '../errors.ts';
import { metricSeries, type SeriesQuery } from '../metrics/series.ts';
import type { Actor } from '../policy.ts';
import { listRuns, type RunFilter } from '../runs.ts';
import { openShare } from './shares.ts';
import type { ReportStore } from './store.ts';

/** The Y.XmlFragment the editor keeps the document in (web: REPORT_FRAGMENT). */
const FRAGMENT = 'prosemirror';
/** As the web's run chart block: at most this many runs, and N most recent for a filter. */
const MAX_CHART_RUNS = 100;
const DEFAULT_FILTER_LIMIT = 10;

/** One run-chart block's settings, read as defensively as the web reads them. */
export type ChartBlock =
  | { source: 'runs'; runIds: string[]; keys: string[] }
  | { source: 'filter'; filter: RunFilter; limit: number; keys: string[] /** the runs-table query as stored */; query: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// all strings, or nothing (web: isStringArray)
const stringArray = (value: unknown): string[] => (Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : []);

function clampLimit(value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() ? Number(value) : Number.NaN;
  return Number.isFinite(n) ? Math.min(MAX_CHART_RUNS, Math.max(1, Math.round(n))) : DEFAULT_FILTER_LIMIT;
}

/**
 * A runs-table query (`status=finished&tag=baseline&cfg.lr=0.001`, as the block stores it)
 * as the runs.list filter the web derives from it (web/lib/run-filters.ts).
 */
export function runFilterOfQuery(query: string): RunFilter {
  const params = new URLSearchParams(query);
  const statuses = params.getAll('status').flatMap((s) => s.split(','));
  const filter: RunFilter = {};
  const status = runStatuses.filter((s) => statuses.includes(s)) as RunStatus[];
  if (status.length) filter.status = status;
  if (params.get('user')) filter.userId = params.get('user')!;
  if (params.get('notebook')?.trim()) filter.notebook = params.get('notebook')!.trim();
  if (params.get('tag')?.trim()) filter.tag = params.get('tag')!.trim();
  const config = [...params.entries()]
    .filter(([name, value]) => name.startsWith('cfg.') && name.length > 4 && value.trim())
    .map(([name, value]) => ({ key: name.slice(4), value: configValue(value) }));
  if (config.length) filter.config = config;
  return filter;
}

function configValue(raw: string): unknown {
  try {
    return JSON.parse(raw.trim());
  } catch {
    return raw.trim();
  }
}

/** Every run-chart block in a report document, wherever it sits (lists, quotes, tables). */
export function runChartsIn(doc: Y.Doc): ChartBlock[] {
  const blocks: ChartBlock[] = [];
  const visit = (node: Y.XmlElement | Y.XmlFragment) => {
    for (const child of node.toArray()) {
      if (!(child instanceof Y.XmlElement)) continue;
      if (child.nodeName === 'runChart') {
        const attrs = child.getAttributes() as Record<string, unknown>;
        const keys = stringArray(attrs.keys);
        blocks.push(
          attrs.source === 'filter'
            ? (() => {
                const query = typeof attrs.filter === 'string' ? attrs.filter : '';
                return { source: 'filter' as const, filter: runFilterOfQuery(query), query, limit: clampLimit(attrs.limit), keys };
              })()
            : // an id that is not a run id names no run (and must not reach a uuid column)
              {
                source: 'runs',
                runIds: stringArray(attrs.runIds)
                  .slice(0, MAX_CHART_RUNS)
                  .filter((id) => UUID.test(id)),
                keys,
              },
        );
      } else visit(child);
    }
  };
  visit(doc.getXmlFragment(FRAGMENT));
  return blocks;
}

// The blocks of a report's stored document, by report: valid while nothing newer is stored
// (the highest seq stored, in the log or folded into the snapshot, has not moved).
const blocksCache = new Map<string, { version: number; blocks: ChartBlock[] }>();
const CACHED_REPORTS = 200;

async function chartBlocksOf(store: ReportStore, reportId: string): Promise<ChartBlock[]> {
  const version = await store.storedSeq(reportId);
  const cached = blocksCache.get(reportId);
  if (cached && cached.version === version) return cached.blocks;
  // what is stored may be newer than `version` by now: cached under the older one, it is
  // read again next time — never older than what was asked about
  const state = await store.load(reportId);
  const doc = new Y.Doc();
  if (state) Y.applyUpdate(doc, state);
  const blocks = runChartsIn(doc);
  doc.destroy();
  blocksCache.delete(reportId);
  blocksCache.set(reportId, { version, blocks });
  if (blocksCache.size > CACHED_REPORTS) blocksCache.delete(blocksCache.keys().next().value!);
  return blocks;
}

/** What a share link reads as: its report's project, nothing else (see policy.ts). */
interface ShareGrant {
  reader: Actor;
  projectId: string;
  blocks: ChartBlock[];
}

async function grantOf(db: Db, store: ReportStore, token: string, projectId: string): Promise<ShareGrant> {
  // unknown → UNAUTHORIZED, revoked → FORBIDDEN, report deleted → NOT_FOUND: checked every time
  const { report, project } = await openShare(db, token);
  if (project.id !== projectId) throw new DomainError('FORBIDDEN', 'this share link is for a report in another project');
  const reader: Actor = { userId: '', via: 'share', shareProjectId: project.id };
  return { reader, projectId: project.id, blocks: await chartBlocksOf(store, report.id) };
}

/** The runs a filter block charts now: the N most recent matching, as the block lists them. */
async function filterRuns(db: Db, grant: ShareGrant, block: Extract<ChartBlock, { source: 'filter' }>): Promise<string[]> {
  const { runs } = await listRuns(db, grant.reader, grant.projectId, block.filter, { sort: { by: 'startedAt', dir: 'desc' }, limit: block.limit });
  return runs.map((r) => r.id);
}

/** Every run the report charts, and per run the keys it is charted with. */
async function chartedRuns(db: Db, grant: ShareGrant): Promise<Map<string, Set<string>>> {
  const keysOf = new Map<string, Set<string>>();
  for (const block of grant.blocks) {
    const ids = block.source === 'runs' ? block.runIds : await filterRuns(db, grant, block);
    for (const id of ids) {
      const keys = keysOf.get(id) ?? new Set<string>();
      for (const key of block.keys) keys.add(key);
      keysOf.set(id, keys);
    }
  }
  return keysOf;
}

/**
 * metrics.series through a share link: only for runs that one of the report's run-chart
 * blocks charts together with this key. FORBIDDEN names what is not in the report.
 */
export async function sharedSeries(db: Db, store: ReportStore, token: string, query: SeriesQuery) {
  const grant = await grantOf(db, store, token, query.projectId);
  const withKey = grant.blocks.filter((b) => b.keys.includes(query.key));
  if (!withKey.length) throw new DomainError('FORBIDDEN', `metric "${query.key}" is not charted in the shared report`);
  // blocks of explicit runs first: a filter block's query only when they do not cover it all
  const allowed = new Set<string>();
  const missing = () => query.runIds.filter((id) => !allowed.has(id));
  for (const block of withKey) if (block.source === 'runs') block.runIds.forEach((id) => allowed.add(id));
  for (const block of withKey) {
    if (!missing().length) break;
    if (block.source === 'filter') (await filterRuns(db, grant, block)).forEach((id) => allowed.add(id));
  }
  const notCharted = missing();
  if (notCharted.length) {
    throw new DomainError(
      'FORBIDDEN',
      `runIds: ${notCharted.join(', ')} ${notCharted.length === 1 ? 'is' : 'are'} not charted with "${query.key}" in the shared report`,
    );
  }
  return metricSeries(db, grant.reader, query);
}

/** What a shared page shows of a run: its name in the legend, its status (live charts). */
export interface SharedRun {
  id: string;
  name: string;
  status: RunStatus;
  startedAt: Date;
}

/**
 * reportShares.runs: without `filter`, every run the report charts (most recent first); with
 * `filter` (and `limit`), the runs of the report's filter block with exactly those settings, as
 * that block lists them. A filter no block of the report has is FORBIDDEN, naming it: the
 * reader asks for a chart of the report, never for a query of their own.
 */
export async function sharedChartRuns(db: Db, store: ReportStore, token: string, ask: { filter?: string | undefined; limit?: number | undefined } = {}) {
  const { report, project } = await openShare(db, token);
  const grant: ShareGrant = {
    reader: { userId: '', via: 'share', shareProjectId: project.id },
    projectId: project.id,
    blocks: await chartBlocksOf(store, report.id),
  };
  let ids: string[];
  if (ask.filter === undefined) ids = [...(await chartedRuns(db, grant)).keys()];
  else {
    const block = grant.blocks.find(
      (b): b is Extract<ChartBlock, { source: 'filter' }> =>
        b.source === 'filter' && b.query === ask.filter && (ask.limit === undefined || b.limit === ask.limit),
    );
    if (!block) {
      const limit = ask.limit === undefined ? '' : ` (most recent ${ask.limit})`;
      throw new DomainError('FORBIDDEN', `filter: "${ask.filter}"${limit} is not a run chart of the shared report`);
    }
    ids = await filterRuns(db, grant, block);
  }
  const rows: SharedRun[] = ids.length
    ? await db
        .select({ id: runs.id, name: runs.name, status: runs.status, startedAt: runs.startedAt })
        .from(runs)
        .where(and(eq(runs.projectId, project.id), inArray(runs.id, ids)))
        .orderBy(desc(runs.startedAt), runs.id)
    : [];
  return { runs: rows };
}
