// The end-of-soak read-back, in SQL on the database the servers used (after they stopped):
// every acknowledged execution is one row with the origins that were acknowledged, every
// acknowledged metric step is stored exactly once.
import { createDb, resultRows, sql } from '@cellmark/db';
import type { Notebook } from './notebook.ts';

export interface ReadBack {
  executionsAcked: number;
  executionsMissing: string[];
  executionsDuplicated: number;
  /** rows whose captured_by lacks an acknowledged origin */
  executionsMerged: number;
  executionsUnmerged: string[];
  pointsAcked: number;
  pointsStored: number;
  pointsMissing: string[];
  pointsDuplicated: number;
  blobs: number;
}

export async function readBack(database: { url: string } | { dataDir: string }, notebooks: Notebook[]): Promise<ReadBack> {
  const db = await createDb(database);
  try {
    const cells = resultRows<{ run_id: string; execution_key: string; captured_by: string[] | string }>(
      await db.db.execute(sql`select run_id, execution_key, captured_by from run_cells`),
    );
    const points = resultRows<{ run_id: string; key: string; n: number; distinct_steps: number; max_step: number }>(
      await db.db.execute(sql`select p.run_id, k.key, count(*)::int as n, count(distinct p.step)::int as distinct_steps, max(p.step)::int as max_step
        from metric_points p join metric_keys k on k.id = p.key_id group by p.run_id, k.key`),
    );
    const [blobs] = resultRows<{ n: number }>(await db.db.execute(sql`select count(*)::int as n from run_blobs`));
    const cellRows = new Map<string, string[][]>();
    for (const row of cells) {
      const id = `${row.run_id}/${row.execution_key}`;
      // postgres.js hands text[] as an array, PGlite too; a literal '{a,b}' if either ever doesn't
      const by = Array.isArray(row.captured_by) ? row.captured_by : row.captured_by.replace(/[{}]/g, '').split(',');
      cellRows.set(id, [...(cellRows.get(id) ?? []), by]);
    }
    const pointRows = new Map(points.map((p) => [`${p.run_id}/${p.key}`, p]));
    const result: ReadBack = {
      executionsAcked: 0,
      executionsMissing: [],
      executionsDuplicated: 0,
      executionsMerged: 0,
      executionsUnmerged: [],
      pointsAcked: 0,
      pointsStored: points.reduce((s, p) => s + p.n, 0),
      pointsMissing: [],
      pointsDuplicated: points.reduce((s, p) => s + p.n - p.distinct_steps, 0),
      blobs: blobs!.n,
    };
    for (const nb of notebooks) {
      for (const [key, origins] of nb.executions) {
        result.executionsAcked++;
        const rows = cellRows.get(`${nb.runId}/${key}`);
        if (!rows) result.executionsMissing.push(`${nb.runId}/${key}`);
        else if (rows.length > 1) result.executionsDuplicated++;
        else if ([...origins].every((o) => rows[0]!.includes(o))) result.executionsMerged += origins.size === 2 ? 1 : 0;
        else result.executionsUnmerged.push(`${nb.runId}/${key}: acknowledged ${[...origins]}, stored ${rows[0]}`);
      }
      for (const [key, steps] of nb.ackedSteps) {
        result.pointsAcked += steps;
        const row = pointRows.get(`${nb.runId}/${key}`);
        // acknowledged steps are 0…steps-1 (one batch in flight, in order)
        if (!row || row.distinct_steps < steps || row.max_step < steps - 1)
          result.pointsMissing.push(`${nb.runId}/${key}: acknowledged 0…${steps - 1}, stored ${row?.distinct_steps ?? 0} steps up to ${row?.max_step ?? '-'}`);
      }
    }
    return result;
  } finally {
    await db.close();
  }
}
