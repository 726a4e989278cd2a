// Follows one notebook's session: one Cellmark run per kernel session, every
// execution recorded from the kernel connection's messages.
//
// The kernel owns the run. Each page first asks the kernel side (activation with
// a client key it proposes): the kernel answers with the run it holds, so a
// second tab, a second browser or a reload join that run, or it takes the
// proposal. The run opens when the kernel starts (or restarts), or at the first
// execution when the notebook opened on a kernel that was already running. A
// restart ends the run `finished` and opens one that continues it
// (previousRunId); a dead kernel ends it `crashed`; pausing capture ends it
// `finished`. Closing the notebook leaves the run to its kernel, which ends it
// when it shuts down. Once the server created the run, the kernel side is bound
// to it. Where the kernel side cannot hold the run (not Python, cellmark not
// installed there or too old) the page owns it: a reloaded page continues it
// from the outbox, closing the notebook ends it.
import type { ISessionContext } from '@jupyterlab/apputils';
import type { Kernel } from '@jupyterlab/services';
import { UUID } from '@lumino/coreutils';
import type { IDisposable } from '@lumino/disposable';
import { type ISignal, Signal } from '@lumino/signaling';
import type { ICellExecution, IRunInfo, RunEndStatus } from '../api';
import type { ICellmarkConfig } from '../config';
import { ExecutionRecorder, type IKernelMessageLike } from './execution-recorder';
import {
  activateKernelSide,
  deactivateKernelSide,
  type IActivationKernel,
  type IActivationParams,
  type IKernelRun,
  type KernelCaptureState,
} from './kernel-activation';
import type { IRunChangedArgs, IRunningExecutions, Shipper } from './shipper';

export interface INotebookCaptureOptions {
  sessionContext: ISessionContext;
  shipper: Shipper;
  /** The settings to record with, or null when not configured or disabled. */
  config: () => ICellmarkConfig | null;
  /** Capture paused for this notebook (its metadata); null while not known yet. */
  paused?: () => boolean | null;
  /** Automatic config in the kernel (metadata `cellmark.autoConfig`, default true). */
  autoConfig?: () => boolean;
  /** Index of a cell in the notebook, by cell id. */
  positionOf?: (cellId: string | null) => number | null;
  /** Switches the kernel side on; tests pass a fake. */
  activate?: (kernel: IActivationKernel, params: IActivationParams) => Promise<KernelCaptureState>;
  deactivate?: (kernel: IActivationKernel) => void;
  now?: () => Date;
  newKey?: () => string;
  /** How long to wait for the second of idle/execute_reply before giving up. */
  staleGraceMs?: number;
  sweepIntervalMs?: number;
}

/** Kernel states in which a run cannot be going on. */
const ENDING: Partial<Record<Kernel.Status, RunEndStatus>> = {
  restarting: 'finished',
  terminating: 'finished',
  autorestarting: 'crashed',
  dead: 'crashed',
};
/** Kernel states after which the next run continues the one that ended. */
const RESTARTS: ReadonlySet<Kernel.Status> = new Set<Kernel.Status>(['restarting', 'autorestarting']);
const LIVE: ReadonlySet<Kernel.Status> = new Set<Kernel.Status>(['starting', 'idle', 'busy']);

interface ISession {
  /** Null until the run is opened (lazily, or after looking for one to continue). */
  clientKey: string | null;
  /** The key this page proposes to the kernel for a new run (and uses where the page owns the run). */
  proposedKey: string;
  /** The run the kernel holds, once it answered; null while asking, or when the page owns the run. */
  kernelRun: IKernelRun | null;
  /** Open the run as soon as its key is known: the kernel (re)started while watched, or a new run was asked for. */
  eager: boolean;
  recorder: ExecutionRecorder;
  serverUrl: string;
  project: string;
  token: string;
  /** Asking the kernel which run to record into, or looking for a run of this kernel left by a reloaded page. */
  resolving: boolean;
  /** An execution started while resolving: open a run if none is found. */
  wantsRun: boolean;
  /** Executions completed before the run was known. */
  buffer: ICellExecution[];
  /** The run this session's run continues. */
  previousClientKey: string | null;
  kernelCapture: KernelCaptureState | null;
  /** The server run id the kernel side was (or is being) activated for. */
  activatedRunId: string | null;
  ended: { status: RunEndStatus; at: string } | null;
}

export class NotebookCapture implements IDisposable {
  private readonly sessionContext: ISessionContext;
  private readonly shipper: Shipper;
  private readonly config: () => ICellmarkConfig | null;
  private readonly paused: () => boolean | null;
  private readonly autoConfig: () => boolean;
  private readonly positionOf: (cellId: string | null) => number | null;
  private readonly activate: NonNullable<INotebookCaptureOptions['activate']>;
  private readonly deactivate: NonNullable<INotebookCaptureOptions['deactivate']>;
  private readonly now: () => Date;
  private readonly newKey: () => string;
  private readonly staleGraceMs: number;
  private readonly sweepIntervalMs: number;
  private readonly _changed = new Signal<this, void>(this);
  private kernel: Kernel.IKernelConnection | null = null;
  private session: ISession | null = null;
  /** Set when a restart ended a run: the next run continues it. */
  private continues: string | null = null;
  /** The kernel (re)started while watched, or a new run was asked for: open the run at once. */
  private eager = false;
  private sweepTimer: ReturnType<typeof setInterval> | null = null;
  private _isDisposed = false;

  constructor(options: INotebookCaptureOptions) {
    this.sessionContext = options.sessionContext;
    this.shipper = options.shipper;
    this.config = options.config;
    this.paused = options.paused ?? (() => false);
    this.autoConfig = options.autoConfig ?? (() => true);
    this.positionOf = options.positionOf ?? (() => null);
    this.activate = options.activate ?? activateKernelSide;
    this.deactivate = options.deactivate ?? deactivateKernelSide;
    this.now = options.now ?? (() => new Date());
    // UUID.uuid4 also works outside secure contexts (Lab served over plain http).
    this.newKey = options.newKey ?? (() => UUID.uuid4());
    this.staleGraceMs = options.staleGraceMs ?? 5000;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 2000;

    this.sessionContext.kernelChanged.connect(this.onKernelChanged, this);
    this.sessionContext.disposed.connect(this.onContextDisposed, this);
    this.shipper.runChanged.connect(this.onRunChanged, this);
    this.attach(this.sessionContext.session?.kernel ?? null);
  }

  /** Recording started or stopped, the run got its name, kernel capture changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Whether a kernel session is being recorded. */
  get recording(): boolean {
    return this.session !== null;
  }

  /** The client key of the run being recorded, once opened. */
  get clientKey(): string | null {
    return this.session?.clientKey ?? null;
  }

  /** The run being recorded, once the server created it. */
  get run(): IRunInfo | null {
    const key = this.session?.clientKey;
    return key ? this.shipper.runInfo(key) : null;
  }

  /** How the kernel side stands for the current run; null before a run. */
  get kernelCapture(): KernelCaptureState | null {
    return this.session?.kernelCapture ?? null;
  }

  get path(): string {
    return this.sessionContext.path;
  }

  /**
   * Executions still running, for a page that is going away (Shipper.flushOnHide); only
   * while the kernel side records into this run, so that it will finish them.
   */
  inFlight(): IRunningExecutions | null {
    const session = this.session;
    if (!session?.clientKey || session.activatedRunId === null || session.kernelCapture?.kind !== 'on') {
      return null;
    }
    return { clientKey: session.clientKey, records: session.recorder.inFlightRecords() };
  }

  /**
   * Settings or the notebook's pause changed: stop when no longer allowed to
   * record, start when newly allowed, start over when the server or project changed.
   */
  refresh(): void {
    const config = this.allowedConfig();
    const session = this.session;
    if (session && (!config || config.serverUrl !== session.serverUrl || config.project !== session.project)) {
      this.endSession('finished');
      if (!config) {
        // Paused or switched off: the kernel side must stop sending too.
        this.stopKernelSide();
      }
      this.eager = true;
    } else if (!session && config) {
      this.eager = true;
    }
    this.maybeStartSession();
  }

  /** End the current run `finished` and start a new one for the same kernel session. */
  newRun(): boolean {
    if (!this.session || !this.kernel) {
      return false;
    }
    this.endSession('finished', true);
    this.eager = true;
    this.maybeStartSession();
    return this.session !== null;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    const pageOwned = this.session?.clientKey != null && this.session.kernelRun === null;
    this.endSession('finished', false, true);
    if (pageOwned) {
      // The kernel may live on after the notebook closes; the run this page owned is over.
      this.stopKernelSide();
    }
    this.attach(null);
    this._isDisposed = true;
    this.sessionContext.kernelChanged.disconnect(this.onKernelChanged, this);
    this.sessionContext.disposed.disconnect(this.onContextDisposed, this);
    this.shipper.runChanged.disconnect(this.onRunChanged, this);
    Signal.clearData(this);
  }

  private allowedConfig(): ICellmarkConfig | null {
    return this.paused() === false ? this.config() : null;
  }

  private onKernelChanged(_: ISessionContext, args: { oldValue?: Kernel.IKernelConnection | null; newValue: Kernel.IKernelConnection | null }): void {
    // JupyterLab 4.6 hands over a new connection to the same kernel after a restart: the
    // run ended by "restarting" is continued by the next one. Another kernel starts afresh.
    const sameKernel = !!args.newValue && !!args.oldValue && args.newValue.id === args.oldValue.id;
    this.endSession('finished', false, true);
    if (!sameKernel) {
      this.continues = null;
      this.eager = false;
    }
    this.attach(args.newValue);
  }

  private onContextDisposed(): void {
    this.dispose();
  }

  private attach(kernel: Kernel.IKernelConnection | null): void {
    if (this.kernel) {
      this.kernel.anyMessage.disconnect(this.onMessage, this);
      this.kernel.statusChanged.disconnect(this.onStatus, this);
    }
    this.kernel = kernel;
    if (kernel) {
      kernel.anyMessage.connect(this.onMessage, this);
      kernel.statusChanged.connect(this.onStatus, this);
      if (kernel.status === 'starting') {
        this.eager = true;
      }
      this.maybeStartSession();
    }
  }

  private onStatus(_: Kernel.IKernelConnection, status: Kernel.Status): void {
    const ending = ENDING[status];
    if (ending) {
      this.endSession(ending, RESTARTS.has(status));
      // A kernel that comes back after this was (re)started: its run opens at once.
      this.eager = RESTARTS.has(status);
    } else if (LIVE.has(status)) {
      if (status === 'starting') {
        this.eager = true;
      }
      this.maybeStartSession();
    }
  }

  private onMessage(_: Kernel.IKernelConnection, args: Kernel.IAnyMessageArgs): void {
    const session = this.session;
    if (!session) {
      return;
    }
    const msg = args.msg as IKernelMessageLike;
    if (args.direction === 'send' && session.clientKey === null && ExecutionRecorder.isRecordable(msg)) {
      if (session.resolving) {
        session.wantsRun = true;
      } else {
        this.openRun(session);
      }
    }
    this.ship(session, session.recorder.handle(msg, args.direction));
  }

  private onRunChanged(_: Shipper, args: IRunChangedArgs): void {
    const session = this.session;
    if (session && args.clientKey === session.clientKey) {
      this.maybeActivate(session, args.run);
      this._changed.emit();
    }
  }

  private maybeStartSession(): void {
    const kernel = this.kernel;
    const config = this.allowedConfig();
    if (this._isDisposed || this.session || !kernel || !config || ENDING[kernel.status]) {
      return;
    }
    const session: ISession = {
      clientKey: null,
      proposedKey: this.newKey(),
      kernelRun: null,
      eager: this.eager || this.continues !== null,
      recorder: new ExecutionRecorder({ now: this.now, positionOf: this.positionOf }),
      serverUrl: config.serverUrl,
      project: config.project,
      token: config.apiToken,
      resolving: true,
      wantsRun: false,
      buffer: [],
      previousClientKey: this.continues,
      kernelCapture: { kind: 'pending' },
      activatedRunId: null,
      ended: null,
    };
    this.session = session;
    this.continues = null;
    this.eager = false;
    this.sweepTimer = setInterval(() => this.sweep(), this.sweepIntervalMs);
    // The kernel side starts capturing now, before any run exists, so the execution that
    // opens the run is on record from both sides; its answer says which run that is.
    void this.activate(kernel as unknown as IActivationKernel, {
      serverUrl: session.serverUrl,
      token: session.token,
      runId: null,
      notebookPath: this.sessionContext.path,
      captureConfig: this.autoConfig(),
      project: session.project,
      clientKey: session.proposedKey,
      replaces: session.previousClientKey,
      kernelName: kernel.name || null,
    }).then((state) => this.claimed(session, state));
    this._changed.emit();
  }

  /** The kernel said which run to record into, or that it cannot hold one. */
  private claimed(session: ISession, state: KernelCaptureState): void {
    if (this.session === session && session.activatedRunId === null) {
      session.kernelCapture = state;
    }
    const run = state.kind === 'on' ? (state.run ?? null) : null;
    if (session.clientKey !== null) {
      // Ended while asking and opened a run for what it had recorded.
      session.resolving = false;
    } else if (run) {
      session.kernelRun = run;
      session.resolving = false;
      // A run the kernel holds that exists (or that the restarted kernel is opening) is
      // joined at once; one only proposed opens with the first execution, as a new one does.
      const wanted = session.eager || run.runId !== null || run.previousRunId !== null || session.wantsRun || session.buffer.length > 0;
      if (wanted && !session.ended) {
        this.openRun(session);
      }
    } else if (session.eager || session.previousClientKey !== null) {
      session.resolving = false;
      if (!session.ended) {
        this.openRun(session);
      }
    } else {
      // The page owns the run: a reloaded page continues its kernel's run from the outbox;
      // otherwise the run opens at the first execution.
      void this.shipper.resumeRun(this.kernel?.id ?? '', session.project).then(
        (found) => this.resolved(session, found),
        () => this.resolved(session, null),
      );
    }
    if (this.session === session) {
      this._changed.emit();
    }
  }

  private resolved(session: ISession, found: { clientKey: string; run: IRunInfo | null } | null): void {
    session.resolving = false;
    if (session.clientKey !== null) {
      // Ended while looking, and opened a run for what it had recorded: a run
      // this kernel had before ends with it.
      if (found && session.ended) {
        void this.shipper.endRun(found.clientKey, session.ended.status, session.ended.at);
      }
      return;
    }
    if (found) {
      session.clientKey = found.clientKey;
      this.ship(session, session.buffer.splice(0));
      if (session.ended) {
        // The kernel went away while looking: the continued run ends with it.
        void this.shipper.endRun(found.clientKey, session.ended.status, session.ended.at);
      } else if (found.run) {
        this.maybeActivate(session, found.run);
      }
    } else if (session.buffer.length > 0 || (session.wantsRun && !session.ended)) {
      this.openRun(session);
      if (session.ended && session.clientKey) {
        void this.shipper.endRun(session.clientKey, session.ended.status, session.ended.at);
      }
    }
    if (this.session === session) {
      this._changed.emit();
    }
  }

  private openRun(session: ISession): void {
    const kernel = this.kernel;
    const held = session.kernelRun;
    const clientKey = held?.clientKey ?? session.proposedKey;
    session.clientKey = clientKey;
    // A run another page or the kernel took on: the same start and link as theirs, whoever
    // creates it first (startRun is idempotent on the client key).
    const joined = held !== null && held.clientKey !== session.proposedKey;
    void this.shipper
      .startRun({
        start: {
          project: session.project,
          clientKey,
          notebookPath: this.sessionContext.path,
          kernelName: kernel?.name || null,
          startedAt: (joined && held.startedAt) || this.now().toISOString(),
          ...(held?.previousRunId ? { previousRunId: held.previousRunId } : {}),
        },
        kernelId: kernel?.id ?? null,
        previousClientKey: held?.previousRunId ? null : session.previousClientKey,
      })
      .then((run) => {
        if (run && this.session === session) {
          // queued before by another tab, or a page before a reload: known already
          this.maybeActivate(session, run);
          this._changed.emit();
        }
      });
    this.ship(session, session.buffer.splice(0));
    this._changed.emit();
  }

  /** Switch the kernel side on for `run`, once per run id. */
  private maybeActivate(session: ISession, run: IRunInfo): void {
    const kernel = this.kernel;
    if (!kernel || session.activatedRunId === run.runId || this.session !== session) {
      return;
    }
    session.activatedRunId = run.runId;
    session.kernelCapture = { kind: 'pending' };
    // Tells the kernel that holds the run its id; a kernel side that does not hold runs is
    // switched to it.
    const held = session.kernelRun && session.clientKey ? { project: session.project, clientKey: session.clientKey, kernelName: kernel.name || null } : {};
    void this.activate(kernel as unknown as IActivationKernel, {
      serverUrl: session.serverUrl,
      token: session.token,
      runId: run.runId,
      notebookPath: this.sessionContext.path,
      captureConfig: this.autoConfig(),
      ...held,
    }).then((state) => {
      if (this.session === session && session.activatedRunId === run.runId) {
        session.kernelCapture = state;
        this._changed.emit();
      }
    });
  }

  private stopKernelSide(): void {
    const kernel = this.kernel;
    if (kernel && !kernel.isDisposed && !ENDING[kernel.status]) {
      this.deactivate(kernel as unknown as IActivationKernel);
    }
  }

  private ship(session: ISession, cells: ICellExecution[]): void {
    if (cells.length === 0) {
      return;
    }
    if (session.clientKey === null) {
      session.buffer.push(...cells);
    } else {
      void this.shipper.addCells(session.clientKey, cells);
    }
  }

  private sweep(): void {
    const session = this.session;
    if (session) {
      this.ship(session, session.recorder.expireStale(this.staleGraceMs));
    }
  }

  /**
   * End the current session's run; `continued` links the next run to it. `detach`: only this
   * page stops (notebook closed, another kernel chosen): a run the kernel holds goes on
   * without it, what runs in the kernel is recorded there.
   */
  private endSession(status: RunEndStatus, continued = false, detach = false): void {
    const session = this.session;
    if (!session) {
      return;
    }
    this.session = null;
    if (this.sweepTimer !== null) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = null;
    }
    const at = this.now().toISOString();
    session.ended = { status, at };
    const leaves = detach && session.kernelRun !== null;
    // An execution still running goes on in the kernel when only this page leaves: an
    // `aborted` record of it would win over the kernel's.
    const abandoned = session.recorder.abandonAll();
    const leftover = leaves ? [] : abandoned;
    if (session.clientKey === null && (leftover.length > 0 || session.buffer.length > 0 || session.wantsRun)) {
      this.openRun(session);
    }
    this.ship(session, leftover);
    if (session.clientKey !== null) {
      void (leaves ? this.shipper.releaseRun(session.clientKey) : this.shipper.endRun(session.clientKey, status, at));
    }
    this.continues = continued ? session.clientKey : null;
    this._changed.emit();
  }
}
