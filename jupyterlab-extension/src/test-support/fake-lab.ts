// Stand-ins for the JupyterLab objects capture uses (kernel connection, session
// context, notebook tracker), driven by tests.
import { Signal } from '@lumino/signaling';
import type { IKernelMessageLike } from '../capture/execution-recorder';
import type { IActivationParams, IKernelRun, KernelCaptureState } from '../capture/kernel-activation';
import { busy, executeInput, executeReplyOk, executeRequest, idle, stream } from './kernel-messages';

/** The parts of IKernelConnection that capture uses. */
export class FakeKernel {
  readonly anyMessage = new Signal<this, { msg: IKernelMessageLike; direction: 'send' | 'recv' }>(this);
  readonly statusChanged = new Signal<this, string>(this);
  status = 'idle';
  isDisposed = false;
  private static count = 0;
  constructor(
    readonly name = 'python3',
    readonly id = `kernel-${++FakeKernel.count}`,
  ) {}

  setStatus(status: string): void {
    this.status = status;
    this.statusChanged.emit(status);
  }

  /** A whole execution as the kernel connection sees it. */
  run(code: string, count: number, cellId = 'cell-1'): IKernelMessageLike {
    const req = executeRequest(code, { cellId });
    this.anyMessage.emit({ msg: req, direction: 'send' });
    for (const msg of [busy(req), executeInput(req, code, count), stream(req, `${count}\n`), executeReplyOk(req, count), idle(req)]) {
      this.anyMessage.emit({ msg, direction: 'recv' });
    }
    return req;
  }

  /** Only the request and busy: an execution still running. */
  startLong(code: string): IKernelMessageLike {
    const req = executeRequest(code, { cellId: 'long' });
    this.anyMessage.emit({ msg: req, direction: 'send' });
    this.anyMessage.emit({ msg: busy(req), direction: 'recv' });
    return req;
  }
}

export class FakeSessionContext {
  readonly kernelChanged = new Signal<this, { name: 'kernel'; oldValue: FakeKernel | null; newValue: FakeKernel | null }>(this);
  readonly disposed = new Signal<this, void>(this);
  path = 'work/analysis.ipynb';
  session: { kernel: FakeKernel | null } | null = null;

  setKernel(kernel: FakeKernel | null): void {
    const oldValue = this.session?.kernel ?? null;
    this.session = kernel ? { kernel } : null;
    this.kernelChanged.emit({ name: 'kernel', oldValue, newValue: kernel });
  }
}

/** The parts of INotebookModel capture uses: metadata and the cell list. */
export class FakeNotebookModel {
  readonly metadataChanged = new Signal<this, { key: string }>(this);
  readonly metadata: Record<string, unknown> = {};
  cellIds: string[] = ['cell-0', 'cell-1', 'cell-2'];

  get cells() {
    const ids = this.cellIds;
    return { length: ids.length, get: (i: number) => (ids[i] === undefined ? undefined : { id: ids[i] as string }) };
  }

  getMetadata(key: string): unknown {
    return this.metadata[key];
  }

  setMetadata(key: string, value: unknown): void {
    this.metadata[key] = value;
    this.metadataChanged.emit({ key });
  }

  deleteMetadata(key: string): void {
    delete this.metadata[key];
    this.metadataChanged.emit({ key });
  }
}

export class FakePanel {
  readonly disposed = new Signal<this, void>(this);
  readonly model = new FakeNotebookModel();
  readonly context = { isReady: true, ready: Promise.resolve() };
  isDisposed = false;

  /** Pass another panel's session context for a second view of one notebook. */
  constructor(readonly sessionContext = new FakeSessionContext()) {}

  /** Closing a view disposes the widget; the context goes when its last view does. */
  dispose(disposeContext = true): void {
    this.isDisposed = true;
    this.disposed.emit();
    if (disposeContext) {
      this.sessionContext.disposed.emit();
    }
  }
}

export class FakeTracker {
  readonly currentChanged = new Signal<this, FakePanel | null>(this);
  readonly widgetAdded = new Signal<this, FakePanel>(this);
  readonly panels: FakePanel[] = [];
  currentWidget: FakePanel | null = null;

  forEach(fn: (panel: FakePanel) => void): void {
    this.panels.forEach(fn);
  }

  open(panel = new FakePanel()): FakePanel {
    this.panels.push(panel);
    this.widgetAdded.emit(panel);
    this.currentWidget = panel;
    this.currentChanged.emit(panel);
    return panel;
  }
}

/**
 * A kernel side that holds its run, as cellmark/kernel/session.py does (run_binding.decide):
 * the first proposal wins; a proposal replaces the held run only when it names it. Pass its
 * `activate` to every page's NotebookCapture that shares the kernel.
 */
export class FakeKernelSide {
  held: IKernelRun | null = null;
  project: string | null = null;
  readonly activations: IActivationParams[] = [];

  readonly activate = async (_kernel: unknown, params: IActivationParams): Promise<KernelCaptureState> => {
    this.activations.push(params);
    const proposal = params.clientKey;
    if (proposal !== undefined) {
      const held = this.held;
      if (!held || this.project !== params.project) {
        this.held = { clientKey: proposal, runId: null, previousRunId: null, startedAt: '2025-03-04T11:59:00.000Z' };
        this.project = params.project ?? null;
      } else if (params.replaces && params.replaces === held.clientKey && proposal !== held.clientKey) {
        this.held = { clientKey: proposal, runId: null, previousRunId: held.runId, startedAt: '2025-03-04T11:59:30.000Z' };
      }
      if (params.runId && this.held && this.held.clientKey === proposal && this.held.runId === null) {
        this.held = { ...this.held, runId: params.runId };
      }
    }
    return { kind: 'on', version: '0.1.0', implementation: 'cpython 3.11.7', ...(this.held ? { run: { ...this.held } } : {}) };
  };

  /** A restarted kernel process: what it held is gone (autostart puts `next` in its place). */
  restart(next: IKernelRun | null = null): void {
    this.held = next;
  }
}
