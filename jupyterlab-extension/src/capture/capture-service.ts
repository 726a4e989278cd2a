// Ties capture together for the whole Lab: one NotebookCapture per open
// notebook, one shipper for the server, the token check, the per-notebook
// pause, and the state the status bar shows (for the current notebook).
import type { ISessionContext } from '@jupyterlab/apputils';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import type { IDisposable } from '@lumino/disposable';
import { type ISignal, Signal } from '@lumino/signaling';
import type { IRunDetails, IUpdateRunInput, IUser } from '../api';
import { type ICellmarkConfig, missingSettings } from '../config';
import { asCellmarkError, CellmarkError } from '../request';
import type { ICaptureState, ICellmarkCapture, ICellmarkSettings } from '../tokens';
import { findCellPosition } from './cell-position';
import { HealthProbe } from './health-probe';
import { NotebookCapture } from './notebook-capture';
import { readAutoConfig, readPaused, setPaused } from './pause';
import type { IRunningExecutions, Shipper } from './shipper';

export interface ICaptureServiceOptions {
  settings: ICellmarkSettings;
  tracker: INotebookTracker;
  shipper: Shipper;
  /** Checks the token (ingest.whoami). */
  whoami: () => Promise<IUser>;
  /** ingest.updateRun, for naming and tagging runs. */
  updateRun?: (input: IUpdateRunInput) => Promise<IRunDetails>;
  /** Why the outbox is in memory only, or null. */
  outboxFallback?: string | null;
  /** Delays between token checks while the server is unreachable. */
  recheckDelaysMs?: number[];
  /**
   * GET /healthz answered 200. While the server is unreachable it is asked about once a
   * second, and the token is checked again as soon as the server is back.
   */
  healthy?: () => Promise<boolean>;
  /** Options passed to every NotebookCapture (tests replace activation). */
  captureOptions?: Partial<ConstructorParameters<typeof NotebookCapture>[0]>;
}

interface IEntry {
  capture: NotebookCapture;
  panels: Set<NotebookPanel>;
}

export class CaptureService implements ICellmarkCapture, IDisposable {
  private readonly settings: ICellmarkSettings;
  private readonly tracker: INotebookTracker;
  private readonly shipper: Shipper;
  private readonly whoami: () => Promise<IUser>;
  private readonly updateRunCall: (input: IUpdateRunInput) => Promise<IRunDetails>;
  private readonly outboxFallback: string | null;
  private readonly recheckDelaysMs: number[];
  private readonly captureOptions: ICaptureServiceOptions['captureOptions'];
  /**
   * By session context, not by panel: "New View for Notebook" opens a second
   * panel on the same session, which must not record every execution twice.
   */
  private readonly captures = new Map<ISessionContext, IEntry>();
  private readonly _stateChanged = new Signal<this, ICaptureState>(this);
  private user: IUser | null = null;
  private checkError: CellmarkError | null = null;
  private commandError: CellmarkError | null = null;
  private checkSeq = 0;
  private recheckTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly probe: HealthProbe | null;
  /** A check the probe asked for got no answer: only a 200 after a failed probe counts now. */
  private probeFailed = false;
  private _isDisposed = false;

  constructor(options: ICaptureServiceOptions) {
    this.settings = options.settings;
    this.tracker = options.tracker;
    this.shipper = options.shipper;
    this.whoami = options.whoami;
    this.updateRunCall = options.updateRun ?? (() => Promise.reject(new CellmarkError('bad-response', 'Cellmark: updating runs is not available')));
    this.outboxFallback = options.outboxFallback ?? null;
    this.recheckDelaysMs = options.recheckDelaysMs ?? [5_000, 15_000, 30_000, 60_000];
    this.captureOptions = options.captureOptions;
    this.probe = options.healthy ? new HealthProbe({ healthy: options.healthy }) : null;

    this.settings.changed.connect(this.onSettingsChanged, this);
    this.shipper.changed.connect(this.emit, this);
    this.tracker.currentChanged.connect(this.emit, this);
    this.tracker.widgetAdded.connect(this.onPanelAdded, this);
    this.tracker.forEach((panel) => this.onPanelAdded(this.tracker, panel));
    this.checkToken();
  }

  get stateChanged(): ISignal<this, ICaptureState> {
    return this._stateChanged;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  get state(): ICaptureState {
    const config = this.settings.config;
    const panel = this.tracker.currentWidget;
    const capture = panel ? this.captures.get(panel.sessionContext)?.capture : undefined;
    const run = capture?.run ?? null;
    return {
      enabled: config.enabled,
      missing: missingSettings(config),
      run,
      runUrl: run ? `${config.serverUrl}${run.url}` : null,
      starting: Boolean(capture?.clientKey) && run === null,
      paused: panel ? this.isPaused(panel) === true : false,
      kernelCapture: capture?.kernelCapture ?? null,
      notebookPath: capture?.path ?? null,
      project: config.project,
      pending: this.shipper.pending,
      outboxFallback: this.outboxFallback,
      error: this.checkError ?? this.commandError ?? this.shipper.error,
      user: this.user,
    };
  }

  /** The settings capture records with, or null when it must stay idle. */
  recordingConfig(): ICellmarkConfig | null {
    const config = this.settings.config;
    return config.enabled && missingSettings(config).length === 0 ? config : null;
  }

  /** Executions running in every notebook, for a page that is going away. */
  inFlight(): IRunningExecutions[] {
    return [...this.captures.values()].flatMap(({ capture }) => capture.inFlight() ?? []);
  }

  togglePause(): boolean | null {
    const panel = this.tracker.currentWidget;
    const model = panel?.model;
    if (!panel || !model || !panel.context.isReady) {
      return null;
    }
    const paused = !readPaused(model);
    // metadataChanged refreshes the capture: the run ends or starts.
    setPaused(model, paused);
    this.captures.get(panel.sessionContext)?.capture.refresh();
    this.emit();
    return paused;
  }

  newRun(): boolean {
    const panel = this.tracker.currentWidget;
    const started = panel ? (this.captures.get(panel.sessionContext)?.capture.newRun() ?? false) : false;
    this.emit();
    return started;
  }

  async renameRun(name: string): Promise<void> {
    const trimmed = name.trim();
    const { capture, run } = this.currentRun();
    const details = await this.update({ runId: run.runId, name: trimmed });
    if (capture.clientKey) {
      await this.shipper.renamed(capture.clientKey, details.name || trimmed);
    }
  }

  async setRunTags(tags: string[]): Promise<void> {
    const { run } = this.currentRun();
    await this.update({ runId: run.runId, tags });
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this.clearRecheck();
    this.probe?.dispose();
    for (const { capture } of this.captures.values()) {
      capture.dispose();
    }
    this.captures.clear();
    this.settings.changed.disconnect(this.onSettingsChanged, this);
    this.shipper.changed.disconnect(this.emit, this);
    this.tracker.currentChanged.disconnect(this.emit, this);
    this.tracker.widgetAdded.disconnect(this.onPanelAdded, this);
    Signal.clearData(this);
  }

  private currentRun() {
    const panel = this.tracker.currentWidget;
    const capture = panel ? this.captures.get(panel.sessionContext)?.capture : undefined;
    const run = capture?.run;
    if (!capture || !run) {
      throw new CellmarkError(
        'not-found',
        capture?.clientKey
          ? 'This notebook’s run is not created on the server yet; try again once it is.'
          : 'This notebook has no Cellmark run: run a cell first.',
      );
    }
    return { capture, run };
  }

  private async update(input: IUpdateRunInput): Promise<IRunDetails> {
    try {
      const details = await this.updateRunCall(input);
      this.commandError = null;
      this.emit();
      return details;
    } catch (reason) {
      const error = asCellmarkError(reason);
      this.commandError = error.retryable ? null : error;
      this.emit();
      throw error;
    }
  }

  /** Paused per the notebook's metadata; null until the notebook is loaded. */
  private isPaused(panel: NotebookPanel): boolean | null {
    if (!panel.context.isReady || !panel.model) {
      return null;
    }
    return readPaused(panel.model);
  }

  private onPanelAdded(_: INotebookTracker, panel: NotebookPanel): void {
    const sessionContext = panel.sessionContext;
    let entry = this.captures.get(sessionContext);
    if (!entry) {
      const panels = new Set<NotebookPanel>();
      const first = () => panels.values().next().value as NotebookPanel | undefined;
      const capture = new NotebookCapture({
        ...this.captureOptions,
        sessionContext,
        shipper: this.shipper,
        config: () => this.recordingConfig(),
        paused: () => {
          const owner = first();
          return owner ? this.isPaused(owner) : null;
        },
        autoConfig: () => {
          const model = first()?.model;
          return model ? readAutoConfig(model) : true;
        },
        positionOf: (cellId) => findCellPosition(first()?.model?.cells, cellId),
      });
      capture.changed.connect(this.emit, this);
      entry = { capture, panels };
      this.captures.set(sessionContext, entry);
    }
    if (entry.panels.has(panel)) {
      return;
    }
    entry.panels.add(panel);
    const owner = entry;
    const refresh = () => {
      owner.capture.refresh();
      this.emit();
    };
    void panel.context.ready.then(() => {
      if (panel.isDisposed) {
        return;
      }
      // Another person (or a file reload) may pause the notebook too.
      panel.model?.metadataChanged.connect(refresh);
      refresh();
    });
    panel.disposed.connect(() => {
      panel.model?.metadataChanged.disconnect(refresh);
      owner.panels.delete(panel);
      if (owner.panels.size === 0) {
        owner.capture.dispose();
        this.captures.delete(sessionContext);
      }
      this.emit();
    });
    this.emit();
  }

  private onSettingsChanged(): void {
    for (const { capture } of this.captures.values()) {
      capture.refresh();
    }
    this.commandError = null;
    this.probeFailed = false;
    this.checkToken();
    this.shipper.retryNow();
    this.emit();
  }

  /**
   * Ask the server who the token belongs to; retry quietly while unreachable, at once when
   * the health probe says it is back.
   */
  private checkToken(attempt = 0, fromProbe = false): void {
    this.clearRecheck();
    const seq = ++this.checkSeq;
    if (missingSettings(this.settings.config).length > 0) {
      this.user = null;
      this.checkError = null;
      return;
    }
    this.whoami().then(
      (user) => {
        if (seq !== this.checkSeq || this._isDisposed) {
          return;
        }
        this.user = user;
        this.checkError = null;
        this.probeFailed = false;
        this.shipper.retryNow();
        this.emit();
      },
      (reason) => {
        if (seq !== this.checkSeq || this._isDisposed) {
          return;
        }
        const error = asCellmarkError(reason);
        this.user = null;
        this.checkError = error;
        if (error.retryable) {
          const delay = this.recheckDelaysMs[Math.min(attempt, this.recheckDelaysMs.length - 1)] ?? 60_000;
          this.recheckTimer = setTimeout(() => this.checkToken(attempt + 1), delay);
          if (error.kind === 'unreachable') {
            this.probeFailed ||= fromProbe;
            this.probe?.start(() => this.checkToken(attempt + 1, true), this.probeFailed);
          }
        }
        this.emit();
      },
    );
  }

  private clearRecheck(): void {
    this.probe?.stop();
    if (this.recheckTimer !== null) {
      clearTimeout(this.recheckTimer);
      this.recheckTimer = null;
    }
  }

  private emit(): void {
    if (!this._isDisposed) {
      this._stateChanged.emit(this.state);
    }
  }
}
