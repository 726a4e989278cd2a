// Follows one notebook's session: one Cellmark run per kernel session, every
// execution recorded from the kernel connection's messages. A restart ends the
// run as finished and starts a new one; a dead kernel ends it as crashed.
import type { ISessionContext } from '@jupyterlab/apputils';
import type { Kernel } from '@jupyterlab/services';
import { UUID } from '@lumino/coreutils';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import type { IRunInfo, RunEndStatus } from '../api';
import type { ICellmarkConfig } from '../config';
import { ExecutionRecorder, IKernelMessageLike } from './execution-recorder';
import type { IRunStartedArgs, Shipper } from './shipper';

export interface INotebookCaptureOptions {
  sessionContext: ISessionContext;
  shipper: Shipper;
  /** The settings to record with, or null when not configured or disabled. */
  config: () => ICellmarkConfig | null;
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
  dead: 'crashed'
};
const LIVE: ReadonlySet<Kernel.Status> = new Set<Kernel.Status>(['starting', 'idle', 'busy']);

interface ISession {
  clientKey: string;
  recorder: ExecutionRecorder;
  serverUrl: string;
  project: string;
}

export class NotebookCapture implements IDisposable {
  private readonly sessionContext: ISessionContext;
  private readonly shipper: Shipper;
  private readonly config: () => ICellmarkConfig | null;
  private readonly now: () => Date;
  private readonly newKey: () => string;
  private readonly staleGraceMs: number;
  private readonly sweepIntervalMs: number;
  private readonly _changed = new Signal<this, void>(this);
  private kernel: Kernel.IKernelConnection | null = null;
  private session: ISession | null = null;
  private sweepTimer: ReturnType<typeof setInterval> | null = null;
  private _isDisposed = false;

  constructor(options: INotebookCaptureOptions) {
    this.sessionContext = options.sessionContext;
    this.shipper = options.shipper;
    this.config = options.config;
    this.now = options.now ?? (() => new Date());
    // UUID.uuid4 also works outside secure contexts (Lab served over plain http).
    this.newKey = options.newKey ?? (() => UUID.uuid4());
    this.staleGraceMs = options.staleGraceMs ?? 5000;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 2000;

    this.sessionContext.kernelChanged.connect(this.onKernelChanged, this);
    this.sessionContext.disposed.connect(this.onContextDisposed, this);
    this.shipper.runStarted.connect(this.onRunStarted, this);
    this.attach(this.sessionContext.session?.kernel ?? null);
  }

  /** Recording started or stopped, or the run got its name. */
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

  /** The run being recorded, once the server created it. */
  get run(): IRunInfo | null {
    return this.session ? this.shipper.runInfo(this.session.clientKey) : null;
  }

  get path(): string {
    return this.sessionContext.path;
  }

  /**
   * Settings changed: stop when no longer configured, start when newly
   * configured, and start over when the server or project changed.
   */
  refresh(): void {
    const config = this.config();
    if (this.session) {
      if (!config) {
        this.endSession('finished');
      } else if (config.serverUrl !== this.session.serverUrl || config.project !== this.session.project) {
        this.endSession('finished');
      }
    }
    this.maybeStartSession();
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this.endSession('finished');
    this.attach(null);
    this._isDisposed = true;
    this.sessionContext.kernelChanged.disconnect(this.onKernelChanged, this);
    this.sessionContext.disposed.disconnect(this.onContextDisposed, this);
    this.shipper.runStarted.disconnect(this.onRunStarted, this);
    Signal.clearData(this);
  }

  private onKernelChanged(
    _: ISessionContext,
    args: { newValue: Kernel.IKernelConnection | null }
  ): void {
    this.endSession('finished');
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
      this.maybeStartSession();
    }
  }

  private onStatus(_: Kernel.IKernelConnection, status: Kernel.Status): void {
    const ending = ENDING[status];
    if (ending) {
      this.endSession(ending);
    } else if (LIVE.has(status)) {
      this.maybeStartSession();
    }
  }

  private onMessage(_: Kernel.IKernelConnection, args: Kernel.IAnyMessageArgs): void {
    if (!this.session) {
      return;
    }
    const done = this.session.recorder.handle(args.msg as IKernelMessageLike, args.direction);
    if (done.length > 0) {
      void this.shipper.addCells(this.session.clientKey, done);
    }
  }

  private onRunStarted(_: Shipper, args: IRunStartedArgs): void {
    if (args.clientKey === this.session?.clientKey) {
      this._changed.emit();
    }
  }

  private maybeStartSession(): void {
    const kernel = this.kernel;
    const config = this.config();
    if (this._isDisposed || this.session || !kernel || !config || ENDING[kernel.status]) {
      return;
    }
    const clientKey = this.newKey();
    this.session = {
      clientKey,
      recorder: new ExecutionRecorder({ now: this.now }),
      serverUrl: config.serverUrl,
      project: config.project
    };
    void this.shipper.startRun({
      project: config.project,
      clientKey,
      notebookPath: this.sessionContext.path,
      kernelName: kernel.name || null,
      startedAt: this.now().toISOString()
    });
    this.sweepTimer = setInterval(() => this.sweep(), this.sweepIntervalMs);
    this._changed.emit();
  }

  private sweep(): void {
    if (this.session) {
      const done = this.session.recorder.expireStale(this.staleGraceMs);
      if (done.length > 0) {
        void this.shipper.addCells(this.session.clientKey, done);
      }
    }
  }

  private endSession(status: RunEndStatus): void {
    const session = this.session;
    if (!session) {
      return;
    }
    this.session = null;
    if (this.sweepTimer !== null) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = null;
    }
    const leftover = session.recorder.abandonAll();
    if (leftover.length > 0) {
      void this.shipper.addCells(session.clientKey, leftover);
    }
    void this.shipper.endRun(session.clientKey, status, this.now().toISOString());
    this._changed.emit();
  }
}
