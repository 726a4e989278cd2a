// Ingest's lookups into a run's stored points and buckets must stay index probes however the
// planner's statistics look. A run logged since the last ANALYZE is estimated at one row;
// written as plain joins, the lookups then hashed every stored row of the run (0.3–0.7 s per
// 100k-point call late in a 1M-point run). Its own database, so the statistics are exactly
// those set up here.

import { type Database, metricKeys, resultRows, type SQL, sql, users } from '@cellmark/db';
import { createTestDb } from '@cellmark/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestMetrics, keyRanges, refreshChildren, storedBucketProbe, storedPointProbe } from '../src/domain/metrics/ingest.ts';
import { rollupsOf } from '../src/domain/metrics/rollup.ts';
import { createWorkspace } from '../src/domain/onboarding.ts';
import type { Actor } from '../src/domain/policy.ts';
import { startRun } from '../src/domain/runs.ts';

let database: Database;
let actor: Actor;
let projectPath: string;
const limits = { maxKeysPerBatch: 50, maxPointsPerBatch: 100_000 };
const time = new Date('2026-11-27T00:00:00Z');
const STORED = 40_000;
const BATCH = 10_000;

beforeAll(async () => {
  database = await createTestDb();
  await database.db.insert(users).values({ id: 'u1', name: 'Plans', email: 'plans@example.test' });
  actor = { userId: 'u1', via: 'token' };
  const { team, project } = await createWorkspace(database.db, { ...actor, via: 'session' }, { teamName: 'Plans', projectName: 'P' });
  projectPath = `${team.slug}/${project.slug}`;
});
afterAll(() => database?.close());

async function runWithPoints(clientKey: string) {
  const { runId } = await startRun(database.db, actor, { project: projectPath, clientKey, notebookPath: 'p.ipynb', startedAt: time });
  for (let from = 0; from < STORED; from += BATCH) {
    const points = Array.from({ length: BATCH }, (_, i) => ({ key: 'loss', step: from + i, value: Math.sin(from + i), time }));
    await ingestMetrics(database.db, actor, { runId, points }, limits);
  }
  return runId;
}

/** The most rows any scan of a table read (rows kept and filtered out, × loops), from EXPLAIN ANALYZE. */
async function mostRowsReadByAScan(query: SQL): Promise<number> {
  const [row] = resultRows<{ 'QUERY PLAN': unknown }>(await database.db.execute(sql`explain (analyze, format json) ${query}`));
  const plan = row!['QUERY PLAN'];
  const root = (typeof plan === 'string' ? JSON.parse(plan) : plan) as { Plan: PlanNode }[];
  let most = 0;
  const walk = (node: PlanNode) => {
    if (node['Relation Name']) most = Math.max(most, (node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0)) * node['Actual Loops']);
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(root[0]!.Plan);
  return most;
}
interface PlanNode {
  'Relation Name'?: string;
  'Actual Rows': number;
  'Rows Removed by Filter'?: number;
  'Actual Loops': number;
  Plans?: PlanNode[];
}

describe('ingest lookups on a run the statistics do not know', () => {
  it('probe the index instead of reading all the run’s points or buckets', async () => {
    await runWithPoints('known');
    await database.db.execute(sql`analyze metric_points`);
    await database.db.execute(sql`analyze metric_rollups`);
    const fresh = await runWithPoints('fresh'); // 40k points, 5.7k buckets the statistics don't know
    const [key] = await database.db.select({ id: metricKeys.id }).from(metricKeys);
    const next = Array.from({ length: BATCH }, (_, i) => ({ keyId: key!.id, step: STORED + i, value: i, time: time.getTime() }));
    const buckets = rollupsOf(next);

    // the point probe finds nothing in the next range, and reads (next to) nothing to say so
    expect(
      await mostRowsReadByAScan(
        storedPointProbe(
          fresh,
          keyRanges(next, (p) => p.step),
        ),
      ),
    ).toBeLessThan(100);
    // the stored buckets among the next batch's: the edges its range shares with the stored steps
    const stored = resultRows<{ level: number }>(await database.db.execute(storedBucketProbe(fresh, buckets)));
    expect(stored.map((b) => b.level).sort()).toEqual([3, 4, 5, 6]); // 40,000 is a multiple of 8 and 64, not of 512
    expect(await mostRowsReadByAScan(storedBucketProbe(fresh, buckets))).toBeLessThan(1000);
    expect(await mostRowsReadByAScan(refreshChildren(fresh, buckets))).toBeLessThan(1000);
  });
});
