// Merging the kernel's and the frontend's records of one execution into one row.
// Pure, so every ordering of the two streams can be tested (execution-merge.test.ts).
import type { CellError, CellOutput, CellOutputsFrom, CellStatus } from '@cellmark/db';

export type Origin = 'kernel' | 'frontend';
export type OutputsFrom = CellOutputsFrom;

export interface ExecutionRecord {
  executionKey: string;
  cellId?: string | null | undefined;
  executionCount?: number | null | undefined;
  position?: number | null | undefined;
  source: string;
  outputs?: CellOutput[] | undefined;
  status: CellStatus;
  error?: CellError | null | undefined;
  startedAt: Date;
  endedAt?: Date | null | undefined;
  config?: Record<string, unknown> | undefined;
}

export interface MergedExecution {
  executionKey: string;
  cellId: string | null;
  executionCount: number | null;
  position: number | null;
  source: string;
  outputs: CellOutput[];
  status: CellStatus;
  error: CellError | null;
  startedAt: Date;
  endedAt: Date | null;
  capturedBy: Origin[];
  /** whose record the outputs are: decides which later outputs may replace them */
  outputsFrom: OutputsFrom | null;
}

/** How much a status says: a later, more specific report wins over a vaguer one. */
const specificity: Record<CellStatus, number> = { running: 0, ok: 1, aborted: 2, error: 2, interrupted: 3 };

/**
 * Whose outputs win: the frontend's once it reported the finished execution (what the user
 * saw), else the kernel's (it sees every output, with or without a tab, and sends them so
 * far while the cell runs), else a frontend record made while the cell still ran. Among
 * records of the same rank the later one wins; each origin's records arrive in order, so
 * every interleaving of the two gives the same outputs.
 */
const outputsRank: Record<OutputsFrom, number> = { 'frontend-running': 1, kernel: 2, frontend: 3 };

/** What a record's outputs count as; null when it carries none (it says nothing about them). */
function outputsFromOf(rec: ExecutionRecord, origin: Origin): OutputsFrom | null {
  if (rec.outputs === undefined) return null;
  if (origin === 'kernel') return 'kernel';
  return rec.status === 'running' ? 'frontend-running' : 'frontend';
}

export function mergeExecution(prev: MergedExecution | null, rec: ExecutionRecord, origin: Origin): MergedExecution {
  const from = outputsFromOf(rec, origin);
  if (!prev) {
    return {
      executionKey: rec.executionKey,
      cellId: rec.cellId ?? null,
      executionCount: rec.executionCount ?? null,
      position: origin === 'frontend' ? (rec.position ?? null) : null,
      source: rec.source,
      outputs: from ? rec.outputs! : [],
      status: rec.status,
      error: rec.status === 'ok' || rec.status === 'running' ? null : (rec.error ?? null),
      startedAt: rec.startedAt,
      endedAt: rec.endedAt ?? null,
      capturedBy: [origin],
      outputsFrom: from,
    };
  }
  const takeOutputs = from !== null && (prev.outputsFrom === null || outputsRank[from] >= outputsRank[prev.outputsFrom]);
  const kernelBefore = prev.capturedBy.includes('kernel');
  const onlyThisOrigin = prev.capturedBy.length === 1 && prev.capturedBy[0] === origin;
  // The kernel's view wins for what happened inside the kernel (source, counter, timing);
  // the frontend's for what only it sees (position); outputs by outputsRank.
  const kernelFirst = <T>(mine: T | null | undefined, theirs: T | null): T | null =>
    origin === 'kernel' ? (mine ?? theirs) : kernelBefore ? (theirs ?? mine ?? null) : (mine ?? theirs);
  const frontendBefore = prev.capturedBy.includes('frontend');
  const frontendFirst = <T>(mine: T | null | undefined, theirs: T | null): T | null =>
    origin === 'frontend' ? (mine ?? theirs) : frontendBefore ? (theirs ?? mine ?? null) : (mine ?? theirs);
  // A finished execution never goes back to running: a hidden page's "still running" record
  // may reach the server after the finished one its page sent a moment later.
  const status =
    rec.status === 'running' && prev.status !== 'running'
      ? prev.status
      : onlyThisOrigin || specificity[rec.status] > specificity[prev.status]
        ? rec.status
        : prev.status;
  const startedAt = origin === 'kernel' || !kernelBefore ? rec.startedAt : prev.startedAt;
  const endedAt = kernelFirst(rec.endedAt, prev.endedAt);
  return {
    executionKey: prev.executionKey,
    cellId: kernelFirst(rec.cellId, prev.cellId),
    executionCount: kernelFirst(rec.executionCount, prev.executionCount),
    position: origin === 'frontend' ? (rec.position ?? prev.position) : prev.position,
    source: kernelFirst(rec.source, prev.source) ?? rec.source,
    outputs: takeOutputs ? rec.outputs! : prev.outputs,
    status,
    // the traceback as the notebook showed it, when the frontend has it
    error: status === 'ok' || status === 'running' ? null : frontendFirst(rec.error, prev.error),
    startedAt,
    // the kernel's start with the frontend's end (kernel still "running") can be a few ms
    // out of order: never report a negative duration
    endedAt: endedAt && endedAt < startedAt ? startedAt : endedAt,
    capturedBy: prev.capturedBy.includes(origin) ? prev.capturedBy : ([...prev.capturedBy, origin].sort() as Origin[]),
    outputsFrom: takeOutputs ? from : prev.outputsFrom,
  };
}
