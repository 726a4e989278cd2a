// Merging the kernel's and the frontend's records of one execution into one row.
// Pure, so every ordering of the two streams can be tested (execution-merge.test.ts).
import type { CellError, CellOutput, CellStatus } from '@cellmark/db';

export type Origin = 'kernel' | 'frontend';

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
}

/** How much a status says: a later, more specific report wins over a vaguer one. */
const specificity: Record<CellStatus, number> = { running: 0, ok: 1, aborted: 2, error: 2, interrupted: 3 };

export function mergeExecution(prev: MergedExecution | null, rec: ExecutionRecord, origin: Origin): MergedExecution {
  if (!prev) {
    return {
      executionKey: rec.executionKey,
      cellId: rec.cellId ?? null,
      executionCount: rec.executionCount ?? null,
      position: origin === 'frontend' ? (rec.position ?? null) : null,
      source: rec.source,
      outputs: origin === 'frontend' ? (rec.outputs ?? []) : [],
      status: rec.status,
      error: rec.status === 'ok' || rec.status === 'running' ? null : (rec.error ?? null),
      startedAt: rec.startedAt,
      endedAt: rec.endedAt ?? null,
      capturedBy: [origin],
    };
  }
  const kernelBefore = prev.capturedBy.includes('kernel');
  const onlyThisOrigin = prev.capturedBy.length === 1 && prev.capturedBy[0] === origin;
  // The kernel's view wins for what happened inside the kernel (source, counter, timing);
  // the frontend's for what only it sees (position, rendered outputs).
  const kernelFirst = <T>(mine: T | null | undefined, theirs: T | null): T | null =>
    origin === 'kernel' ? (mine ?? theirs) : kernelBefore ? (theirs ?? mine ?? null) : (mine ?? theirs);
  const frontendBefore = prev.capturedBy.includes('frontend');
  const frontendFirst = <T>(mine: T | null | undefined, theirs: T | null): T | null =>
    origin === 'frontend' ? (mine ?? theirs) : frontendBefore ? (theirs ?? mine ?? null) : (mine ?? theirs);
  const status = onlyThisOrigin || specificity[rec.status] > specificity[prev.status] ? rec.status : prev.status;
  const startedAt = origin === 'kernel' || !kernelBefore ? rec.startedAt : prev.startedAt;
  const endedAt = kernelFirst(rec.endedAt, prev.endedAt);
  return {
    executionKey: prev.executionKey,
    cellId: kernelFirst(rec.cellId, prev.cellId),
    executionCount: kernelFirst(rec.executionCount, prev.executionCount),
    position: origin === 'frontend' ? (rec.position ?? prev.position) : prev.position,
    source: kernelFirst(rec.source, prev.source) ?? rec.source,
    outputs: origin === 'frontend' ? (rec.outputs ?? prev.outputs) : prev.outputs,
    status,
    // the traceback as the notebook showed it, when the frontend has it
    error: status === 'ok' || status === 'running' ? null : frontendFirst(rec.error, prev.error),
    startedAt,
    // the kernel's start with the frontend's end (kernel still "running") can be a few ms
    // out of order: never report a negative duration
    endedAt: endedAt && endedAt < startedAt ? startedAt : endedAt,
    capturedBy: prev.capturedBy.includes(origin) ? prev.capturedBy : [...prev.capturedBy, origin].sort() as Origin[],
  };
}
