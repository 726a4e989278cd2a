// Where runs and executions wait until the server has accepted them.
//
// IOutbox is the seam for persistence: IndexedDbOutbox (idb-outbox.ts) keeps
// everything across page reloads and closed tabs; MemoryOutbox is the fallback
// where IndexedDB is unavailable (and what unit tests use). The shipper only
// talks to this interface. Executions are keyed by (run clientKey,
// executionKey), so recording the same execution twice keeps one.
import type { ICellExecution, IRunInfo, IStartRunInput, RunEndStatus } from '../api';

export interface IOutboxRun {
  clientKey: string;
  /** The ingest.startRun input, resent as is (same clientKey) until accepted. */
  start: IStartRunInput;
  /**
   * The run this one continues (a kernel restart), by clientKey, while that
   * run's server id is not known yet; start.previousRunId once it is.
   */
  previousClientKey: string | null;
  /** The Jupyter kernel recorded, so a reloaded page can continue the run. */
  kernelId: string | null;
  /** The page (browser tab) recording into this run. */
  owner: string;
  /** When the run was queued (ms since the epoch); runs are sent oldest first. */
  createdAt: number;
  /** Set once the server accepted ingest.startRun. */
  run: IRunInfo | null;
  /** Set once the run ended locally; sent after its last cells. */
  end: { status: RunEndStatus; endedAt: string } | null;
}

export type OutboxRunPatch = Partial<Pick<IOutboxRun, 'start' | 'previousClientKey' | 'owner' | 'run' | 'end'>>;

export interface IBatchLimit {
  maxCells: number;
  maxBytes: number;
}

export interface IOutbox {
  /** Whether what is queued survives a page reload. */
  readonly persistent: boolean;
  /** Runs with work left or still open, oldest first. */
  runs(): Promise<IOutboxRun[]>;
  getRun(clientKey: string): Promise<IOutboxRun | null>;
  /** Queue a run; a run already queued under this clientKey stays as it is. */
  addRun(run: IOutboxRun): Promise<void>;
  updateRun(clientKey: string, patch: OutboxRunPatch): Promise<void>;
  /** Forget a run and anything left of it. */
  removeRun(clientKey: string): Promise<void>;
  /** Queue executions of a queued run (throws for an unknown run); a known executionKey is replaced. */
  addCells(clientKey: string, cells: ICellExecution[]): Promise<void>;
  /** The oldest cells of a run, within the limit but always at least one if any. */
  peekCells(clientKey: string, limit: IBatchLimit): Promise<ICellExecution[]>;
  /** Drop cells the server accepted. */
  ackCells(clientKey: string, executionKeys: string[]): Promise<void>;
  /** Cells waiting, of one run or of all. */
  countCells(clientKey?: string): Promise<number>;
}

export function cellBytes(cell: ICellExecution): number {
  // UTF-16 length is close enough for batching and much cheaper than encoding.
  return JSON.stringify(cell).length;
}

export class OutboxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutboxError';
  }
}

export class MemoryOutbox implements IOutbox {
  readonly persistent = false;
  private readonly entries = new Map<string, { run: IOutboxRun; cells: Map<string, ICellExecution> }>();

  async runs(): Promise<IOutboxRun[]> {
    return [...this.entries.values()].map((e) => structuredClone(e.run)).sort((a, b) => a.createdAt - b.createdAt);
  }

  async getRun(clientKey: string): Promise<IOutboxRun | null> {
    const entry = this.entries.get(clientKey);
    return entry ? structuredClone(entry.run) : null;
  }

  async addRun(run: IOutboxRun): Promise<void> {
    if (!this.entries.has(run.clientKey)) {
      this.entries.set(run.clientKey, { run: structuredClone(run), cells: new Map() });
    }
  }

  async updateRun(clientKey: string, patch: OutboxRunPatch): Promise<void> {
    const entry = this.entries.get(clientKey);
    if (entry) {
      entry.run = { ...entry.run, ...structuredClone(patch) };
    }
  }

  async removeRun(clientKey: string): Promise<void> {
    this.entries.delete(clientKey);
  }

  async addCells(clientKey: string, cells: ICellExecution[]): Promise<void> {
    const entry = this.entries.get(clientKey);
    if (!entry) {
      throw new OutboxError(`Cellmark outbox: no run ${clientKey}`);
    }
    for (const cell of cells) {
      // Map keeps first-insertion order; a replaced record moves to the end like a new one.
      entry.cells.delete(cell.executionKey);
      entry.cells.set(cell.executionKey, structuredClone(cell));
    }
  }

  async peekCells(clientKey: string, limit: IBatchLimit): Promise<ICellExecution[]> {
    const cells = this.entries.get(clientKey)?.cells.values() ?? [];
    return takeBatch(cells, limit, cellBytes).map((c) => structuredClone(c));
  }

  async ackCells(clientKey: string, executionKeys: string[]): Promise<void> {
    const entry = this.entries.get(clientKey);
    for (const key of executionKeys) {
      entry?.cells.delete(key);
    }
  }

  async countCells(clientKey?: string): Promise<number> {
    if (clientKey !== undefined) {
      return this.entries.get(clientKey)?.cells.size ?? 0;
    }
    let n = 0;
    for (const entry of this.entries.values()) {
      n += entry.cells.size;
    }
    return n;
  }
}

/** The first items that fit the limit, always at least one. */
export function takeBatch<T>(items: Iterable<T>, limit: IBatchLimit, size: (item: T) => number): T[] {
  const batch: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const n = size(item);
    if (batch.length >= limit.maxCells || (batch.length > 0 && bytes + n > limit.maxBytes)) {
      break;
    }
    batch.push(item);
    bytes += n;
  }
  return batch;
}
