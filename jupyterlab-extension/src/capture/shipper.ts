// Sends runs and executions from the outbox to the server in order: startRun,
// then cells in small debounced batches, then endRun. Network and 5xx failures
// are retried with exponential backoff; other 4xx failures park that run until
// the settings change (a corrected token or project). Nothing is dropped.
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import {
  ICellExecution,
  IIngestApi,
  IRunInfo,
  IStartRunInput,
  MAX_CELLS_PER_BATCH,
  RunEndStatus
} from '../api';
import { asCellmarkError, CellmarkError } from '../request';
import { IOutbox, IOutboxRun, MemoryOutbox } from './outbox';

export interface IShipperOptions {
  api: IIngestApi;
  outbox?: IOutbox;
  /** False while the settings are incomplete: nothing is sent, nothing fails. */
  canSend?: () => boolean;
  /**
   * The project setting now. A run the server has not created yet is created in
   * the current project, so fixing a mistyped project rescues what was recorded.
   */
  project?: () => string;
  debounceMs?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Keeps one request well under the server's body limit. */
  maxBatchBytes?: number;
  /** For jitter; tests pass a constant. */
  random?: () => number;
}

type StepResult =
  | { kind: 'idle' }
  | { kind: 'sent' }
  | { kind: 'dropped' }
  | { kind: 'failed'; error: CellmarkError; batchSize: number };

export interface IRunStartedArgs {
  clientKey: string;
  run: IRunInfo;
}

export class Shipper implements IDisposable {
  private readonly api: IIngestApi;
  private readonly outbox: IOutbox;
  private readonly canSend: () => boolean;
  private readonly project: () => string;
  private readonly debounceMs: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxBatchBytes: number;
  private readonly random: () => number;

  private readonly _changed = new Signal<this, void>(this);
  private readonly _runStarted = new Signal<this, IRunStartedArgs>(this);
  private readonly runInfos = new Map<string, IRunInfo>();
  /** Runs parked by a non-retryable error, until retryNow(). */
  private readonly blocked = new Map<string, CellmarkError>();
  /** Smaller batches for runs whose batch was too large for the server. */
  private readonly batchCells = new Map<string, number>();

  private _pending = 0;
  private transientError: CellmarkError | null = null;
  private attempt = 0;
  private debounceTimer: ReturnType<typeof setTimeout> | null = null;
  private backoffTimer: ReturnType<typeof setTimeout> | null = null;
  private draining: Promise<void> | null = null;
  private dirty = false;
  /** Outbox writes run one after another, so a run exists before its cells. */
  private writes: Promise<void> = Promise.resolve();
  private _isDisposed = false;

  constructor(options: IShipperOptions) {
    this.api = options.api;
    this.outbox = options.outbox ?? new MemoryOutbox();
    this.canSend = options.canSend ?? (() => true);
    this.project = options.project ?? (() => '');
    this.debounceMs = options.debounceMs ?? 300;
    this.initialBackoffMs = options.initialBackoffMs ?? 1000;
    this.maxBackoffMs = options.maxBackoffMs ?? 60_000;
    this.maxBatchBytes = options.maxBatchBytes ?? 4 * 1024 * 1024;
    this.random = options.random ?? Math.random;
    // A persistent outbox may hold work from an earlier page.
    void this.outbox.countCells().then(n => {
      this._pending += n;
      if (n > 0) {
        this._changed.emit();
        this.kick(0);
      }
    });
  }

  /** Pending count, error or run names changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get runStarted(): ISignal<this, IRunStartedArgs> {
    return this._runStarted;
  }

  /** Executions recorded and not yet accepted by the server. */
  get pending(): number {
    return this._pending;
  }

  /** The error that currently keeps something from the server, if any. */
  get error(): CellmarkError | null {
    return this.transientError ?? this.blocked.values().next().value ?? null;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  runInfo(clientKey: string): IRunInfo | null {
    return this.runInfos.get(clientKey) ?? null;
  }

  startRun(start: IStartRunInput): Promise<void> {
    return this.write(() => this.outbox.addRun({ clientKey: start.clientKey, start, run: null, end: null }), 0);
  }

  addCells(clientKey: string, cells: ICellExecution[]): Promise<void> {
    if (cells.length === 0) {
      return this.writes;
    }
    this._pending += cells.length;
    this._changed.emit();
    return this.write(() => this.outbox.addCells(clientKey, cells), this.debounceMs);
  }

  endRun(clientKey: string, status: RunEndStatus, endedAt: string): Promise<void> {
    return this.write(() => this.outbox.updateRun(clientKey, { end: { status, endedAt } }), this.debounceMs);
  }

  /** Forget parked errors and backoff and try everything now (settings changed). */
  retryNow(): void {
    const hadError = this.error !== null;
    this.blocked.clear();
    this.transientError = null;
    this.attempt = 0;
    this.clearTimer('backoffTimer');
    if (hadError) {
      this._changed.emit();
    }
    this.kick(0);
  }

  /** Send what can be sent now and wait until done (or failed); for tests and shutdown. */
  async flush(): Promise<void> {
    this.clearTimer('debounceTimer');
    this.dirty = true;
    await this.writes;
    await this.drain();
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this.clearTimer('debounceTimer');
    this.clearTimer('backoffTimer');
    Signal.clearData(this);
  }

  private write(op: () => Promise<void>, delayMs: number): Promise<void> {
    const next = this.writes.then(op).catch(reason => {
      console.error('Cellmark: could not queue data', reason);
    });
    this.writes = next;
    this.kick(delayMs);
    return next;
  }

  /** Schedule a drain, unless a backoff is running (it will drain when due). */
  private kick(delayMs: number): void {
    this.dirty = true;
    if (this._isDisposed || this.backoffTimer !== null || this.debounceTimer !== null) {
      return;
    }
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = null;
      void this.drain();
    }, delayMs);
  }

  private drain(): Promise<void> {
    if (!this.draining) {
      this.draining = this.drainLoop().finally(() => {
        this.draining = null;
      });
    }
    return this.draining;
  }

  private async drainLoop(): Promise<void> {
    while (this.dirty && !this._isDisposed && this.backoffTimer === null && this.canSend()) {
      this.dirty = false;
      await this.writes;
      while (!this._isDisposed && (await this.step())) {
        // keep going while requests succeed
      }
    }
  }

  /** Make one request for the first run with work; true if it succeeded. */
  private async step(): Promise<boolean> {
    const runs = await this.outbox.runs();
    for (const entry of runs) {
      if (this.blocked.has(entry.clientKey)) {
        continue;
      }
      const result = await this.stepRun(entry);
      if (result.kind === 'idle') {
        continue;
      }
      if (result.kind === 'dropped') {
        return true;
      }
      if (result.kind === 'sent') {
        this.succeeded();
        return true;
      }
      const { error, batchSize } = result;
      if (error.kind === 'too-large' && batchSize > 1) {
        // Not the user's problem: retry at once with half the batch.
        this.batchCells.set(entry.clientKey, Math.max(1, Math.floor(batchSize / 2)));
        return true;
      }
      if (error.retryable) {
        this.transientError = error;
        this.scheduleBackoff();
        this._changed.emit();
        return false;
      }
      this.blocked.set(entry.clientKey, error);
      this._changed.emit();
    }
    return false;
  }

  /** The next request for one run, if it has work. */
  private async stepRun(entry: IOutboxRun): Promise<StepResult> {
    const key = entry.clientKey;
    let batchSize = 0;
    try {
      if (!entry.run) {
        if (entry.end && (await this.outbox.peekCells(key, { maxCells: 1, maxBytes: 1 })).length === 0) {
          // Ended before the server ever created it, and nothing was recorded:
          // creating an empty run now would only add noise.
          await this.outbox.removeRun(key);
          return { kind: 'dropped' };
        }
        const run = await this.api.startRun({ ...entry.start, project: this.project() || entry.start.project });
        await this.outbox.updateRun(key, { run });
        this.runInfos.set(key, run);
        this._runStarted.emit({ clientKey: key, run });
        return { kind: 'sent' };
      }
      this.runInfos.set(key, entry.run);
      const cells = await this.outbox.peekCells(key, {
        maxCells: this.batchCells.get(key) ?? MAX_CELLS_PER_BATCH,
        maxBytes: this.maxBatchBytes
      });
      if (cells.length > 0) {
        batchSize = cells.length;
        await this.api.appendCells(entry.run.runId, cells);
        await this.outbox.ackCells(
          key,
          cells.map(c => c.executionKey)
        );
        this._pending -= cells.length;
        return { kind: 'sent' };
      }
      if (entry.end) {
        await this.api.endRun({ runId: entry.run.runId, ...entry.end });
        await this.outbox.removeRun(key);
        this.runInfos.delete(key);
        this.batchCells.delete(key);
        return { kind: 'sent' };
      }
      return { kind: 'idle' };
    } catch (reason) {
      return { kind: 'failed', error: asCellmarkError(reason), batchSize };
    }
  }

  private succeeded(): void {
    this.attempt = 0;
    this.transientError = null;
    this._changed.emit();
  }

  private scheduleBackoff(): void {
    const base = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** this.attempt);
    this.attempt += 1;
    const delay = base * (0.5 + 0.5 * this.random());
    this.clearTimer('backoffTimer');
    this.dirty = true;
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = null;
      void this.drain();
    }, delay);
  }

  private clearTimer(name: 'debounceTimer' | 'backoffTimer'): void {
    const timer = this[name];
    if (timer !== null) {
      clearTimeout(timer);
      this[name] = null;
    }
  }
}
