// Where runs and executions wait until the server has accepted them.
//
// IOutbox is the seam for persistence: today MemoryOutbox keeps everything while
// the page is open; a later IndexedDB implementation (same interface, async on
// purpose) will let a reload or a closed tab lose nothing. The shipper only
// talks to this interface.
import type { ICellExecution, IRunInfo, IStartRunInput, RunEndStatus } from '../api';

export interface IOutboxRun {
  clientKey: string;
  start: IStartRunInput;
  /** Set once the server accepted ingest.startRun. */
  run: IRunInfo | null;
  /** Set once the run ended locally; sent after its last cells. */
  end: { status: RunEndStatus; endedAt: string } | null;
}

export interface IBatchLimit {
  maxCells: number;
  maxBytes: number;
}

export interface IOutbox {
  /** Runs with work left, oldest first. */
  runs(): Promise<IOutboxRun[]>;
  addRun(run: IOutboxRun): Promise<void>;
  updateRun(clientKey: string, patch: Partial<Pick<IOutboxRun, 'run' | 'end'>>): Promise<void>;
  /** Forget a run and anything left of it. */
  removeRun(clientKey: string): Promise<void>;
  addCells(clientKey: string, cells: ICellExecution[]): Promise<void>;
  /** The oldest cells of a run, within the limit but always at least one if any. */
  peekCells(clientKey: string, limit: IBatchLimit): Promise<ICellExecution[]>;
  /** Drop cells the server accepted. */
  ackCells(clientKey: string, executionKeys: string[]): Promise<void>;
  /** Cells waiting across all runs. */
  countCells(): Promise<number>;
}

export class MemoryOutbox implements IOutbox {
  private readonly entries = new Map<string, { run: IOutboxRun; cells: ICellExecution[] }>();

  async runs(): Promise<IOutboxRun[]> {
    return [...this.entries.values()].map(e => ({ ...e.run }));
  }

  async addRun(run: IOutboxRun): Promise<void> {
    if (!this.entries.has(run.clientKey)) {
      this.entries.set(run.clientKey, { run: { ...run }, cells: [] });
    }
  }

  async updateRun(
    clientKey: string,
    patch: Partial<Pick<IOutboxRun, 'run' | 'end'>>
  ): Promise<void> {
    const entry = this.entries.get(clientKey);
    if (entry) {
      entry.run = { ...entry.run, ...patch };
    }
  }

  async removeRun(clientKey: string): Promise<void> {
    this.entries.delete(clientKey);
  }

  async addCells(clientKey: string, cells: ICellExecution[]): Promise<void> {
    const entry = this.entries.get(clientKey);
    if (!entry) {
      throw new Error(`Cellmark outbox: no run ${clientKey}`);
    }
    entry.cells.push(...cells);
  }

  async peekCells(clientKey: string, limit: IBatchLimit): Promise<ICellExecution[]> {
    const cells = this.entries.get(clientKey)?.cells ?? [];
    const batch: ICellExecution[] = [];
    let bytes = 0;
    for (const cell of cells) {
      const size = JSON.stringify(cell).length;
      if (batch.length >= limit.maxCells || (batch.length > 0 && bytes + size > limit.maxBytes)) {
        break;
      }
      batch.push(cell);
      bytes += size;
    }
    return batch;
  }

  async ackCells(clientKey: string, executionKeys: string[]): Promise<void> {
    const entry = this.entries.get(clientKey);
    if (entry) {
      const done = new Set(executionKeys);
      entry.cells = entry.cells.filter(c => !done.has(c.executionKey));
    }
  }

  async countCells(): Promise<number> {
    let n = 0;
    for (const entry of this.entries.values()) {
      n += entry.cells.length;
    }
    return n;
  }
}
