// Ties capture together for the whole Lab: one NotebookCapture per open
// notebook, one shipper for the server, the token check, and the state the
// status bar shows (for the current notebook).
import type { ISessionContext } from '@jupyterlab/apputils';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import type { IUser } from '../api';
import { ICellmarkConfig, missingSettings } from '../config';
import { asCellmarkError, CellmarkError } from '../request';
import type { ICaptureState, ICellmarkCapture, ICellmarkSettings } from '../tokens';
import { NotebookCapture } from './notebook-capture';
import { Shipper } from './shipper';

export interface ICaptureServiceOptions {
  settings: ICellmarkSettings;
  tracker: INotebookTracker;
  shipper: Shipper;
  /** Checks the token (ingest.whoami). */
  whoami: () => Promise<IUser>;
  /** Delays between token checks while the server is unreachable. */
  recheckDelaysMs?: number[];
}

export class CaptureService implements ICellmarkCapture, IDisposable {
  private readonly settings: ICellmarkSettings;
  private readonly tracker: INotebookTracker;
  private readonly shipper: Shipper;
  private readonly whoami: () => Promise<IUser>;
  private readonly recheckDelaysMs: number[];
  /**
   * By session context, not by panel: "New View for Notebook" opens a second
   * panel on the same session, which must not record every execution twice.
   */
  private readonly captures = new Map<ISessionContext, { capture: NotebookCapture; panels: Set<NotebookPanel> }>();
  private readonly _stateChanged = new Signal<this, ICaptureState>(this);
  private user: IUser | null = null;
  private checkError: CellmarkError | null = null;
  private checkSeq = 0;
  private recheckTimer: ReturnType<typeof setTimeout> | null = null;
  private _isDisposed = false;

  constructor(options: ICaptureServiceOptions) {
    this.settings = options.settings;
    this.tracker = options.tracker;
    this.shipper = options.shipper;
    this.whoami = options.whoami;
    this.recheckDelaysMs = options.recheckDelaysMs ?? [5_000, 15_000, 30_000, 60_000];

    this.settings.changed.connect(this.onSettingsChanged, this);
    this.shipper.changed.connect(this.emit, this);
    this.tracker.currentChanged.connect(this.emit, this);
    this.tracker.widgetAdded.connect(this.onPanelAdded, this);
    this.tracker.forEach(panel => this.onPanelAdded(this.tracker, panel));
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
      starting: Boolean(capture?.recording) && run === null,
      notebookPath: capture?.path ?? null,
      project: config.project,
      pending: this.shipper.pending,
      error: this.checkError ?? this.shipper.error,
      user: this.user
    };
  }

  /** The settings capture records with, or null when it must stay idle. */
  recordingConfig(): ICellmarkConfig | null {
    const config = this.settings.config;
    return config.enabled && missingSettings(config).length === 0 ? config : null;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this.clearRecheck();
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

  private onPanelAdded(_: INotebookTracker, panel: NotebookPanel): void {
    const sessionContext = panel.sessionContext;
    let entry = this.captures.get(sessionContext);
    if (!entry) {
      const capture = new NotebookCapture({
        sessionContext,
        shipper: this.shipper,
        config: () => this.recordingConfig()
      });
      capture.changed.connect(this.emit, this);
      entry = { capture, panels: new Set() };
      this.captures.set(sessionContext, entry);
    }
    if (entry.panels.has(panel)) {
      return;
    }
    entry.panels.add(panel);
    const owner = entry;
    panel.disposed.connect(() => {
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
    this.checkToken();
    this.shipper.retryNow();
    this.emit();
  }

  /** Ask the server who the token belongs to; retry quietly while unreachable. */
  private checkToken(attempt = 0): void {
    this.clearRecheck();
    const seq = ++this.checkSeq;
    if (missingSettings(this.settings.config).length > 0) {
      this.user = null;
      this.checkError = null;
      return;
    }
    this.whoami().then(
      user => {
        if (seq !== this.checkSeq || this._isDisposed) {
          return;
        }
        this.user = user;
        this.checkError = null;
        this.shipper.retryNow();
        this.emit();
      },
      reason => {
        if (seq !== this.checkSeq || this._isDisposed) {
          return;
        }
        const error = asCellmarkError(reason);
        this.user = null;
        this.checkError = error;
        if (error.retryable) {
          const delay = this.recheckDelaysMs[Math.min(attempt, this.recheckDelaysMs.length - 1)] ?? 60_000;
          this.recheckTimer = setTimeout(() => this.checkToken(attempt + 1), delay);
        }
        this.emit();
      }
    );
  }

  private clearRecheck(): void {
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
