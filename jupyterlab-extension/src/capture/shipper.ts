// Sends runs and executions from the outbox to the server in order: startRun,
// then cells in small debounced batches, then endRun. Answers that mean the server
// is overloaded (5xx, 408, 429) are retried with exponential backoff; while it gives
// no answer at all, GET /healthz is asked about once a second meanwhile and the backoff
// ends at its first 200 (health-probe.ts), so what waited goes within seconds of the
// server's return. Other 4xx failures park that run until the settings change (a
// corrected token or project). Nothing is dropped.
//
// The outbox may be shared with other tabs and outlive this page: on start the
// shipper sends what earlier pages left; which page records into which run is
// run-takeover.ts. Sending the same thing twice is harmless: every ingest write
// is idempotent (run clientKey, executionKey). A page that is going away sends
// what it can at once with fetch keepalive (flushOnHide, keepalive.ts).
import type { IDisposable } from '@lumino/disposable';
import { type ISignal, Signal } from '@lumino/signaling';
import {
  type ICellExecution,
  type IExecutionRecord,
  type IIngestApi,
  type IRunInfo,
  type IStartRunInput,
  MAX_CELLS_PER_BATCH,
  type RunEndStatus,
} from '../api';
import { asCellmarkError, CellmarkError } from '../request';
import { HealthProbe } from './health-probe';
import { candidateOf, type IKeepaliveCandidate, type IKeepaliveRun, KEEPALIVE_BODY_BYTES, selectForKeepalive } from './keepalive';
import { type IOutbox, type IOutboxRun, MemoryOutbox } from './outbox';
import { type IPageLiveness, SinglePageLiveness } from './page-liveness';
import { type IRunRequest, RunTakeover } from './run-takeover';

/**
 * Recorded cells kept in memory until the server took them, for flushOnHide: a page
 * that is closing cannot wait for IndexedDB. The newest ones; the outbox has them all.
 */
const MAX_REMEMBERED = 200;

/** Executions still running in a notebook of this page, for flushOnHide. */
export interface IRunningExecutions {
  clientKey: string;
  records: IExecutionRecord[];
}

export interface IShipperOptions {
  api: IIngestApi;
  outbox?: IOutbox;
  liveness?: IPageLiveness;
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
  /** How often /healthz is asked while the server is unreachable. */
  probeIntervalMs?: number;
  /** Keeps one request well under the server's body limit. */
  maxBatchBytes?: number;
  /** For jitter; tests pass a constant. */
  random?: () => number;
  now?: () => Date;
}

type StepResult = { kind: 'idle' } | { kind: 'sent' } | { kind: 'dropped' } | { kind: 'failed'; error: CellmarkError; batchSize: number };

export interface IRunChangedArgs {
  clientKey: string;
  run: IRunInfo;
}

export class Shipper implements IDisposable {
  private readonly api: IIngestApi;
  private readonly outbox: IOutbox;
  private readonly takeover: RunTakeover;
  private readonly canSend: () => boolean;
  private readonly project: () => string;
  private readonly debounceMs: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxBatchBytes: number;
  private readonly random: () => number;
  private readonly now: () => Date;
  private readonly probe: HealthProbe;

  private readonly _changed = new Signal<this, void>(this);
  private readonly _runChanged = new Signal<this, IRunChangedArgs>(this);
  private readonly runInfos = new Map<string, IRunInfo>();
  /** Server ids of every run created or seen by this page, kept after the run ended, for linking restarts. */
  private readonly knownRunIds = new Map<string, string>();
  /** Runs parked by a non-retryable error, until retryNow(). */
  private readonly blocked = new Map<string, CellmarkError>();
  /** Smaller batches for runs whose batch was too large for the server. */
  private readonly batchCells = new Map<string, number>();

  /** `${clientKey}\u0000${executionKey}` → what a hidden page could send of it, oldest first. */
  private readonly remembered = new Map<string, { clientKey: string; candidate: IKeepaliveCandidate }>();
  /** What keepalive requests of this hidden period carried (keepalive.ts sentKey). */
  private readonly sentOnHide = new Set<string>();
  private keepaliveBytes = 0;

  private _pending = 0;
  private transientError: CellmarkError | null = null;
  private storageError: CellmarkError | null = null;
  private attempt = 0;
  /**
   * A backoff ended because /healthz said 200 and nothing succeeded since: the server
   * answers the probe but not the requests, so only a 200 after a failed probe counts now.
   */
  private probeEnded = false;
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
    this.now = options.now ?? (() => new Date());
    this.takeover = new RunTakeover(this.outbox, options.liveness ?? new SinglePageLiveness(), this.now);
    this.probe = new HealthProbe({ healthy: () => this.api.healthy(), intervalMs: options.probeIntervalMs, random: this.random });
    // A persistent outbox may hold work from an earlier page: send it.
    void this.outbox.runs().then((runs) => {
      for (const entry of runs) {
        this.learn(entry.clientKey, entry.run);
      }
      this.recount();
      if (runs.length > 0) {
        this.kick(0);
      }
    });
  }

  /** Pending count, error or run names changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** A run was created on the server or renamed. */
  get runChanged(): ISignal<this, IRunChangedArgs> {
    return this._runChanged;
  }

  /** Executions recorded and not yet accepted by the server (all runs, all pages). */
  get pending(): number {
    return this._pending;
  }

  /** Whether what is pending survives a reload. */
  get persistent(): boolean {
    return this.outbox.persistent;
  }

  get pageId(): string {
    return this.takeover.pageId;
  }

  /** The error that currently keeps something from the server, if any. */
  get error(): CellmarkError | null {
    return this.storageError ?? this.transientError ?? this.blocked.values().next().value ?? null;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  runInfo(clientKey: string): IRunInfo | null {
    return this.runInfos.get(clientKey) ?? null;
  }

  /**
   * Queue a run; it is created on the server before its cells are sent. A run already queued
   * under this clientKey is taken over by this page instead (run-takeover.ts), and answers
   * with the server's run if that exists already.
   */
  startRun(request: IRunRequest): Promise<IRunInfo | null> {
    let known: IRunInfo | null = null;
    return this.write(async () => {
      known = await this.takeover.claim(request);
      this.learn(request.start.clientKey, known);
    }, 0).then(() => known);
  }

  /** This page stops recording into a run that goes on without it (RunTakeover.release). */
  releaseRun(clientKey: string): Promise<void> {
    return this.write(() => this.takeover.release(clientKey), this.debounceMs);
  }

  /** Continue an open run of this kernel whose page is gone (RunTakeover.resume); null when there is none. */
  async resumeRun(kernelId: string, project: string): Promise<{ clientKey: string; run: IRunInfo | null } | null> {
    await this.writes;
    const taken = await this.takeover.resume(kernelId, project);
    if (!taken) {
      return null;
    }
    this.learn(taken.clientKey, taken.run);
    this.kick(0);
    return { clientKey: taken.clientKey, run: taken.run };
  }

  /** End open runs whose page and kernel are both gone (RunTakeover.endOrphans), and send their ends. */
  async endOrphans(isKernelRunning: (kernelId: string) => boolean): Promise<number> {
    await this.writes;
    const ended = await this.takeover.endOrphans(isKernelRunning);
    if (ended > 0) {
      this.kick(0);
    }
    return ended;
  }

  addCells(clientKey: string, cells: ICellExecution[]): Promise<void> {
    if (cells.length === 0) {
      return this.writes;
    }
    this._pending += cells.length;
    this._changed.emit();
    for (const cell of cells) {
      this.remember(clientKey, cell);
    }
    return this.write(() => this.outbox.addCells(clientKey, cells), this.debounceMs);
  }

  endRun(clientKey: string, status: RunEndStatus, endedAt: string): Promise<void> {
    return this.write(() => this.outbox.updateRun(clientKey, { end: { status, endedAt } }), this.debounceMs);
  }

  /** The server renamed the run (ingest.updateRun answered). */
  async renamed(clientKey: string, name: string): Promise<void> {
    const run = this.runInfos.get(clientKey);
    if (!run || run.name === name) {
      return;
    }
    const next = { ...run, name };
    this.runInfos.set(clientKey, next);
    this._runChanged.emit({ clientKey, run: next });
    this._changed.emit();
    await this.write(() => this.outbox.updateRun(clientKey, { run: next }), this.debounceMs);
  }

  /** Forget parked errors and backoff and try everything now (settings changed). */
  retryNow(): void {
    const hadError = this.error !== null;
    this.blocked.clear();
    this.transientError = null;
    this.attempt = 0;
    this.probeEnded = false;
    this.clearTimer('backoffTimer');
    this.probe.stop();
    if (hadError) {
      this._changed.emit();
    }
    this.kick(0);
  }

  /**
   * The page is being hidden or closed: send what is not on the server yet, and what runs
   * (`running`: its position), with keepalive requests that outlive the page, within the
   * browser's 64 KiB for their bodies. Synchronous up to the requests: a closing page runs no
   * more tasks. Returns the number of requests made.
   */
  flushOnHide(running: IRunningExecutions[] = []): number {
    if (this._isDisposed || !this.canSend()) {
      return 0;
    }
    const runs = new Map<string, IKeepaliveRun>();
    const runOf = (clientKey: string): IKeepaliveRun | null => {
      const runId = this.runInfos.get(clientKey)?.runId;
      if (!runId || this.blocked.has(clientKey)) {
        return null; // not created on the server yet: the outbox keeps it for the next page
      }
      let run = runs.get(clientKey);
      if (!run) {
        run = { clientKey, runId, candidates: [] };
        runs.set(clientKey, run);
      }
      return run;
    };
    for (const { clientKey, candidate } of this.remembered.values()) {
      runOf(clientKey)?.candidates.push(candidate);
    }
    for (const { clientKey, records } of running) {
      for (const record of records) {
        if (!this.remembered.has(`${clientKey}\u0000${record.executionKey}`)) {
          runOf(clientKey)?.candidates.push({ executionKey: record.executionKey, slim: record, full: null });
        }
      }
    }
    const batches = selectForKeepalive([...runs.values()], KEEPALIVE_BODY_BYTES - this.keepaliveBytes, this.sentOnHide);
    for (const batch of batches) {
      this.keepaliveBytes += batch.bytes;
      batch.sent.forEach((key) => this.sentOnHide.add(key));
      this.api.appendCells(batch.runId, batch.cells, { keepalive: true }).then(
        () => {
          this.keepaliveBytes -= batch.bytes;
        },
        () => {
          // refused or unreachable: the outbox still has everything; a later hide may retry
          this.keepaliveBytes -= batch.bytes;
          batch.sent.forEach((key) => this.sentOnHide.delete(key));
        },
      );
    }
    return batches.length;
  }

  /** The page is visible again: the ordinary sending takes over. */
  pageShown(): void {
    this.sentOnHide.clear();
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
    this.probe.dispose();
    Signal.clearData(this);
  }

  /** A run the server created, known to this page (for flushOnHide and for linking restarts). */
  private learn(clientKey: string, run: IRunInfo | null): void {
    if (run) {
      this.runInfos.set(clientKey, run);
      this.knownRunIds.set(clientKey, run.runId);
    }
  }

  private write(op: () => Promise<void>, delayMs: number): Promise<void> {
    const next = this.writes.then(op).then(
      () => {
        if (this.storageError) {
          this.storageError = null;
          this._changed.emit();
        }
      },
      (reason) => {
        // Quota exceeded, or a run that is gone: say so instead of losing it quietly.
        const message = reason instanceof Error ? reason.message : String(reason);
        console.error('Cellmark: could not queue data', reason);
        this.storageError = new CellmarkError('storage', `Cellmark could not keep recorded data in the browser: ${message}`);
        this.recount();
        this._changed.emit();
      },
    );
    this.writes = next;
    this.kick(delayMs);
    return next;
  }

  /** The pending count from the outbox (other tabs and earlier pages included). */
  private recount(): void {
    void this.writes
      .then(() => this.outbox.countCells())
      .then(
        (n) => {
          if (n !== this._pending && !this._isDisposed) {
            this._pending = n;
            this._changed.emit();
          }
        },
        () => undefined,
      );
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
      this.recount();
    }
  }

  /** Make one request for the first run with work; true if it succeeded. */
  private async step(): Promise<boolean> {
    const runs = await this.outbox.runs();
    for (const entry of runs) {
      if (this.blocked.has(entry.clientKey)) {
        continue;
      }
      const result = await this.stepRun(entry, runs);
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
        this.scheduleBackoff(error.kind === 'unreachable');
        this._changed.emit();
        return false;
      }
      this.blocked.set(entry.clientKey, error);
      this._changed.emit();
    }
    return false;
  }

  /** The next request for one run, if it has work. */
  private async stepRun(entry: IOutboxRun, runs: IOutboxRun[]): Promise<StepResult> {
    const key = entry.clientKey;
    let batchSize = 0;
    try {
      if (!entry.run) {
        return await this.createRun(entry, runs);
      }
      this.runInfos.set(key, entry.run);
      const cells = await this.outbox.peekCells(key, {
        maxCells: this.batchCells.get(key) ?? MAX_CELLS_PER_BATCH,
        maxBytes: this.maxBatchBytes,
      });
      if (cells.length > 0) {
        batchSize = cells.length;
        await this.api.appendCells(entry.run.runId, cells);
        await this.outbox.ackCells(
          key,
          cells.map((c) => c.executionKey),
        );
        this.forget(key, cells);
        this._pending = Math.max(0, this._pending - cells.length);
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

  private async createRun(entry: IOutboxRun, runs: IOutboxRun[]): Promise<StepResult> {
    const key = entry.clientKey;
    const previous = this.resolvePrevious(entry, runs);
    if (entry.end && (await this.outbox.countCells(key)) === 0) {
      // Ended before the server ever created it, and nothing was recorded:
      // creating an empty run now would only add noise. A run that continued
      // it continues its predecessor instead.
      await this.relinkFollowers(runs, key, {
        previousClientKey: previous === 'wait' ? entry.previousClientKey : null,
        previousRunId: previous === 'wait' ? undefined : previous,
      });
      await this.outbox.removeRun(key);
      return { kind: 'dropped' };
    }
    if (previous === 'wait') {
      // Created after its predecessor, so the server can link them.
      return { kind: 'idle' };
    }
    const start: IStartRunInput = { ...entry.start };
    if (previous !== undefined) {
      start.previousRunId = previous;
    }
    const run = await this.api.startRun({ ...start, project: this.project() || start.project });
    await this.outbox.updateRun(key, { run, start, previousClientKey: null });
    await this.relinkFollowers(runs, key, { previousClientKey: null, previousRunId: run.runId });
    this.runInfos.set(key, run);
    this.knownRunIds.set(key, run.runId);
    this._runChanged.emit({ clientKey: key, run });
    return { kind: 'sent' };
  }

  /**
   * The server id of the run this one continues; 'wait' while that run is
   * queued but not created; undefined when there is none (or it is unknown).
   */
  private resolvePrevious(entry: IOutboxRun, runs: IOutboxRun[]): string | 'wait' | undefined {
    if (entry.start.previousRunId !== undefined || entry.previousClientKey === null) {
      return entry.start.previousRunId;
    }
    const queued = runs.find((r) => r.clientKey === entry.previousClientKey);
    if (queued) {
      return queued.run ? queued.run.runId : 'wait';
    }
    return this.knownRunIds.get(entry.previousClientKey);
  }

  /** Point the runs that continue `clientKey` at what they now continue. */
  private async relinkFollowers(
    runs: IOutboxRun[],
    clientKey: string,
    link: { previousClientKey: string | null; previousRunId: string | undefined },
  ): Promise<void> {
    for (const follower of runs.filter((r) => r.previousClientKey === clientKey && !r.run)) {
      const start = { ...follower.start };
      if (link.previousRunId === undefined) {
        delete start.previousRunId;
      } else {
        start.previousRunId = link.previousRunId;
      }
      await this.outbox.updateRun(follower.clientKey, { previousClientKey: link.previousClientKey, start });
    }
  }

  private remember(clientKey: string, cell: ICellExecution): void {
    const id = `${clientKey}\u0000${cell.executionKey}`;
    this.remembered.delete(id); // a newer record of it goes to the end
    this.remembered.set(id, { clientKey, candidate: candidateOf(cell) });
    for (const oldest of this.remembered.keys()) {
      if (this.remembered.size <= MAX_REMEMBERED) {
        break;
      }
      this.remembered.delete(oldest);
    }
  }

  /** Accepted by the server: no longer needed for a hidden page. */
  private forget(clientKey: string, cells: ICellExecution[]): void {
    for (const cell of cells) {
      this.remembered.delete(`${clientKey}\u0000${cell.executionKey}`);
    }
  }

  private succeeded(): void {
    this.attempt = 0;
    this.probeEnded = false;
    this.transientError = null;
    this._changed.emit();
  }

  /**
   * Wait before the next request. When the server gave no answer, probe its health meanwhile
   * and end the wait when it is back; once a wait ended so and the request still got no
   * answer, only a 200 after a failed probe ends one, until a request succeeds (a server that
   * answers /healthz but not ingest gets the plain backoff, not a request a second).
   */
  private scheduleBackoff(unreachable: boolean): void {
    const base = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** this.attempt);
    this.attempt += 1;
    const delay = base * (0.5 + 0.5 * this.random());
    this.clearTimer('backoffTimer');
    this.dirty = true;
    this.backoffTimer = setTimeout(() => this.endBackoff(), delay);
    if (unreachable) {
      this.probe.start(() => {
        this.probeEnded = true;
        this.endBackoff();
      }, this.probeEnded);
    } else {
      this.probe.stop();
    }
  }

  private endBackoff(): void {
    this.clearTimer('backoffTimer');
    this.probe.stop();
    void this.drain();
  }

  private clearTimer(name: 'debounceTimer' | 'backoffTimer'): void {
    const timer = this[name];
    if (timer !== null) {
      clearTimeout(timer);
      this[name] = null;
    }
  }
}
