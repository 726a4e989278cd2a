// The persistent outbox: runs and executions in IndexedDB, so a reload, a
// crashed tab or a closed laptop loses nothing that was recorded. One database
// per origin (that is, per Jupyter server); every tab of it shares it.
import { type DBSchema, type IDBPDatabase, openDB } from 'idb';
import type { ICellExecution } from '../api';
import { cellBytes, type IBatchLimit, type IOutbox, type IOutboxRun, MemoryOutbox, OutboxError, type OutboxRunPatch } from './outbox';

export const OUTBOX_DB_NAME = 'cellmark-outbox';
const VERSION = 1;

interface IStoredCell {
  clientKey: string;
  executionKey: string;
  /** Insertion order within the page; runs' cells are sent in this order. */
  seq: number;
  bytes: number;
  cell: ICellExecution;
}

interface IOutboxSchema extends DBSchema {
  runs: { key: string; value: IOutboxRun };
  cells: { key: [string, string]; value: IStoredCell; indexes: { byRunSeq: [string, number] } };
}

/** Every key [clientKey, …] of one run. */
const runRange = (clientKey: string) => IDBKeyRange.bound([clientKey], [clientKey, []]);

export class IndexedDbOutbox implements IOutbox {
  readonly persistent = true;
  private lastSeq = 0;

  private constructor(private readonly db: IDBPDatabase<IOutboxSchema>) {}

  static async open(name = OUTBOX_DB_NAME): Promise<IndexedDbOutbox> {
    const db = await openDB<IOutboxSchema>(name, VERSION, {
      upgrade(database) {
        database.createObjectStore('runs', { keyPath: 'clientKey' });
        const cells = database.createObjectStore('cells', { keyPath: ['clientKey', 'executionKey'] });
        cells.createIndex('byRunSeq', ['clientKey', 'seq']);
      },
      blocking() {
        // A newer version of the extension in another tab wants to upgrade.
        db.close();
      },
    });
    const outbox = new IndexedDbOutbox(db);
    // Continue after what earlier pages wrote: Date.now() alone may be behind it (a reload in
    // the same millisecond, a clock set back), and cells would then be sent out of order.
    for (const run of await db.getAll('runs')) {
      const last = await db.transaction('cells').store.index('byRunSeq').openCursor(runRange(run.clientKey), 'prev');
      if (last) {
        outbox.lastSeq = Math.max(outbox.lastSeq, last.value.seq);
      }
    }
    return outbox;
  }

  close(): void {
    this.db.close();
  }

  async runs(): Promise<IOutboxRun[]> {
    const runs = await this.db.getAll('runs');
    return runs.sort((a, b) => a.createdAt - b.createdAt);
  }

  async getRun(clientKey: string): Promise<IOutboxRun | null> {
    return (await this.db.get('runs', clientKey)) ?? null;
  }

  async addRun(run: IOutboxRun): Promise<void> {
    const tx = this.db.transaction('runs', 'readwrite');
    if ((await tx.store.getKey(run.clientKey)) === undefined) {
      await tx.store.add(run);
    }
    await tx.done;
  }

  async updateRun(clientKey: string, patch: OutboxRunPatch): Promise<void> {
    const tx = this.db.transaction('runs', 'readwrite');
    const run = await tx.store.get(clientKey);
    if (run) {
      await tx.store.put({ ...run, ...patch });
    }
    await tx.done;
  }

  async removeRun(clientKey: string): Promise<void> {
    const tx = this.db.transaction(['runs', 'cells'], 'readwrite');
    await Promise.all([tx.objectStore('runs').delete(clientKey), tx.objectStore('cells').delete(runRange(clientKey)), tx.done]);
  }

  async addCells(clientKey: string, cells: ICellExecution[]): Promise<void> {
    const tx = this.db.transaction(['runs', 'cells'], 'readwrite');
    if ((await tx.objectStore('runs').getKey(clientKey)) === undefined) {
      tx.abort();
      await tx.done.catch(() => undefined);
      throw new OutboxError(`Cellmark outbox: no run ${clientKey}`);
    }
    const store = tx.objectStore('cells');
    for (const cell of cells) {
      void store.put({ clientKey, executionKey: cell.executionKey, seq: this.nextSeq(), bytes: cellBytes(cell), cell });
    }
    await tx.done;
  }

  async peekCells(clientKey: string, limit: IBatchLimit): Promise<ICellExecution[]> {
    const tx = this.db.transaction('cells', 'readonly');
    const range = IDBKeyRange.bound([clientKey, -Infinity], [clientKey, Infinity]);
    const batch: ICellExecution[] = [];
    let bytes = 0;
    for await (const cursor of tx.store.index('byRunSeq').iterate(range)) {
      const { cell, bytes: size } = cursor.value;
      if (batch.length >= limit.maxCells || (batch.length > 0 && bytes + size > limit.maxBytes)) {
        break;
      }
      batch.push(cell);
      bytes += size;
    }
    return batch;
  }

  async ackCells(clientKey: string, executionKeys: string[]): Promise<void> {
    const tx = this.db.transaction('cells', 'readwrite');
    await Promise.all([...executionKeys.map((key) => tx.store.delete([clientKey, key])), tx.done]);
  }

  async countCells(clientKey?: string): Promise<number> {
    return clientKey === undefined ? this.db.count('cells') : this.db.count('cells', runRange(clientKey));
  }

  /** Increasing within this page, and after anything an earlier page wrote. */
  private nextSeq(): number {
    this.lastSeq = Math.max(Date.now() * 1000, this.lastSeq + 1);
    return this.lastSeq;
  }
}

export interface IOpenedOutbox {
  outbox: IOutbox;
  /** Why the outbox is in memory only, or null when it is persistent. */
  fallbackReason: string | null;
}

/**
 * The IndexedDB outbox, or the in-memory one when IndexedDB is missing,
 * refused (some private windows) or does not answer in time.
 */
export async function openOutbox(options: { name?: string; timeoutMs?: number } = {}): Promise<IOpenedOutbox> {
  if (typeof indexedDB === 'undefined') {
    return { outbox: new MemoryOutbox(), fallbackReason: 'this browser offers no IndexedDB' };
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('IndexedDB did not open in time')), options.timeoutMs ?? 5000);
  });
  try {
    const outbox = await Promise.race([IndexedDbOutbox.open(options.name), timeout]);
    return { outbox, fallbackReason: null };
  } catch (reason) {
    const message = reason instanceof Error ? reason.message : String(reason);
    return { outbox: new MemoryOutbox(), fallbackReason: `IndexedDB is unavailable (${message})` };
  } finally {
    clearTimeout(timer);
  }
}
