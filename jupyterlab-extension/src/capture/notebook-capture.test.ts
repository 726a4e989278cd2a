import type { ISessionContext } from '@jupyterlab/apputils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_CONFIG, type ICellmarkConfig } from '../config';
import { FakeIngestApi, unreachable } from '../test-support/fake-api';
import { FakeKernel, FakeKernelSide, FakeSessionContext } from '../test-support/fake-lab';
import type { IActivationParams, KernelCaptureState } from './kernel-activation';
import { NotebookCapture } from './notebook-capture';
import { MemoryOutbox } from './outbox';
import { SinglePageLiveness } from './page-liveness';
import { Shipper } from './shipper';

const CONFIGURED: ICellmarkConfig = { ...DEFAULT_CONFIG, apiToken: 'cm_token', project: 'team/proj' };
const runId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('NotebookCapture', () => {
  let api: FakeIngestApi;
  let outbox: MemoryOutbox;
  let shipper: Shipper;
  let context: FakeSessionContext;
  let config: ICellmarkConfig | null;
  let paused: boolean | null;
  let autoConfig = true;
  let keys: number;
  let activations: IActivationParams[];
  let deactivations: number;
  let activationAnswer: KernelCaptureState;
  let capture: NotebookCapture;

  function create(): NotebookCapture {
    capture = new NotebookCapture({
      sessionContext: context as unknown as ISessionContext,
      shipper,
      config: () => config,
      paused: () => paused,
      autoConfig: () => autoConfig,
      positionOf: (cellId) => (cellId === 'cell-1' ? 4 : null),
      activate: async (_kernel, params) => {
        activations.push(params);
        return activationAnswer;
      },
      deactivate: () => {
        deactivations += 1;
      },
      now: () => new Date('2025-03-04T12:00:00.000Z'),
      newKey: () => `client-key-${++keys}`,
    });
    return capture;
  }

  const ops = () =>
    api.calls.map((c) =>
      c.op === 'startRun'
        ? `start ${c.input.clientKey}${c.input.previousRunId ? ` after ${c.input.previousRunId.slice(-1)}` : ''}`
        : c.op === 'cells'
          ? `cells ${c.runId.slice(-1)} ${c.cells.map((x) => x.source).join(',')}`
          : `end ${c.input.runId.slice(-1)} ${c.input.status}`,
    );

  beforeEach(() => {
    vi.useFakeTimers();
    api = new FakeIngestApi();
    outbox = new MemoryOutbox();
    shipper = new Shipper({ api, outbox, liveness: new SinglePageLiveness('this-page') });
    context = new FakeSessionContext();
    config = CONFIGURED;
    paused = false;
    autoConfig = true;
    keys = 0;
    activations = [];
    deactivations = 0;
    activationAnswer = { kind: 'on', version: '0.1.0', implementation: 'cpython 3.11.7' };
  });

  afterEach(() => {
    capture?.dispose();
    shipper.dispose();
    vi.useRealTimers();
  });

  it('opens the run at the first execution on a kernel that was already running, with positions', async () => {
    create();
    const kernel = new FakeKernel();
    context.setKernel(kernel);
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops()).toEqual([]); // opening a notebook runs nothing: no empty run
    kernel.run('a = 1', 1);
    kernel.run('print(a)', 2, 'cell-x');
    await vi.advanceTimersByTimeAsync(300);

    expect(api.calls[0]).toMatchObject({
      op: 'startRun',
      input: {
        project: 'team/proj',
        clientKey: 'client-key-1',
        notebookPath: 'work/analysis.ipynb',
        kernelName: 'python3',
        startedAt: '2025-03-04T12:00:00.000Z',
      },
    });
    expect(ops()).toEqual(['start client-key-1', 'cells 1 a = 1,print(a)']);
    const cells = api.calls[1];
    expect(cells?.op === 'cells' ? cells.cells.map((c) => c.position) : []).toEqual([4, null]);
    expect(capture.run?.name).toBe('run-1');
  });

  it('opens the run at once when the kernel starts while the notebook is open', async () => {
    create();
    const kernel = new FakeKernel();
    kernel.status = 'starting';
    context.setKernel(kernel);
    await vi.advanceTimersByTimeAsync(0);
    expect(ops()).toEqual(['start client-key-1']);
  });

  it('switches the kernel side on before the first execution, binds it once the server created the run, and says how it stands', async () => {
    create();
    const kernel = new FakeKernel();
    context.setKernel(kernel);
    const params = { serverUrl: 'http://localhost:3000', token: 'cm_token', notebookPath: 'work/analysis.ipynb', captureConfig: true };
    // capturing already, so the execution that opens the run is recorded by the kernel too;
    // the kernel is asked which run that is (this kernel side holds none: the page owns it)
    const claim = { ...params, runId: null, project: 'team/proj', clientKey: 'client-key-1', replaces: null, kernelName: 'python3' };
    expect(activations).toEqual([claim]);
    kernel.run('x = 1', 1);
    await vi.advanceTimersByTimeAsync(0);
    expect(activations).toEqual([claim, { ...params, runId: runId(1) }]);
    expect(capture.kernelCapture).toEqual({ kind: 'on', version: '0.1.0', implementation: 'cpython 3.11.7' });
  });

  it('passes the notebook metadata cellmark.autoConfig = false to the kernel side as capture_config', async () => {
    autoConfig = false;
    create();
    const kernel = new FakeKernel();
    context.setKernel(kernel);
    kernel.run('x = 1', 1);
    await vi.advanceTimersByTimeAsync(0);
    expect(activations.map((a) => a.captureConfig)).toEqual([false, false]);
  });

  it('ends the run as finished on restart and opens one that continues it', async () => {
    create();
    const kernel = new FakeKernel();
    context.setKernel(kernel);
    kernel.run('x = 1', 1);
    await vi.advanceTimersByTimeAsync(0);
    kernel.setStatus('restarting');
    expect(capture.recording).toBe(false);
    kernel.setStatus('starting');
    kernel.setStatus('idle');
    await vi.advanceTimersByTimeAsync(1000);
    kernel.run('y = 2', 1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops()).toEqual(['start client-key-1', 'cells 1 x = 1', 'end 1 finished', 'start client-key-2 after 1', 'cells 2 y = 2']);
    // The restarted kernel is a fresh process: its kernel side is switched on again, then bound to the new run.
    expect(activations.map((a) => a.runId)).toEqual([null, runId(1), null, runId(2)]);
  });

  it('links the run after a restart when JupyterLab hands over a new connection to the same kernel', async () => {
    // What JupyterLab 4.6 does on "Restart Kernel": status restarting, then kernelChanged
    // with a new connection object carrying the same kernel id.
    create();
    const kernel = new FakeKernel();
    context.setKernel(kernel);
    kernel.run('x = 1', 1);
    await vi.advanceTimersByTimeAsync(0);
    kernel.setStatus('restarting');
    const reconnected = new FakeKernel('python3', kernel.id);
    reconnected.status = 'unknown';
    context.setKernel(reconnected);
    reconnected.setStatus('starting');
    reconnected.setStatus('idle');
    reconnected.run('y = 2', 1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops()).toEqual(['start client-key-1', 'cells 1 x = 1', 'end 1 finished', 'start client-key-2 after 1', 'cells 2 y = 2']);
  });

  it('does not link the run of a different kernel', async () => {
    create();
    const kernel = new FakeKernel();
    context.setKernel(kernel);
    kernel.run('x = 1', 1);
    await vi.advanceTimersByTimeAsync(0);
    const other = new FakeKernel('python3');
    context.setKernel(other);
    other.run('y = 2', 1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops()).toEqual(['start client-key-1', 'cells 1 x = 1', 'end 1 finished', 'start client-key-2', 'cells 2 y = 2']);
  });

  it('links the restarted run even when the first was never created (server down)', async () => {
    let down = true;
    api.failWith = () => (down ? unreachable() : null);
    create();
    const kernel = new FakeKernel();
    context.setKernel(kernel);
    kernel.run('x = 1', 1);
    kernel.setStatus('restarting');
    kernel.setStatus('idle');
    kernel.run('y = 2', 1);
    await vi.advanceTimersByTimeAsync(500);
    down = false;
    shipper.retryNow();
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops().filter((_, i) => !api.calls[i]?.failed)).toEqual([
      'start client-key-1',
      'cells 1 x = 1',
      'end 1 finished',
      'start client-key-2 after 1',
      'cells 2 y = 2',
    ]);
  });

  it('ends the run as crashed when the kernel dies, aborting what was running', async () => {
    create();
    const kernel = new FakeKernel();
    context.setKernel(kernel);
    kernel.startLong('train()');
    kernel.setStatus('dead');
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops()).toEqual(['start client-key-1', 'cells 1 train()', 'end 1 crashed']);
    const cells = api.calls[1];
    expect(cells?.op === 'cells' ? cells.cells[0]?.status : '').toBe('aborted');
  });

  it('treats an automatic restart after a crash as crashed, and continues it', async () => {
    create();
    const kernel = new FakeKernel();
    context.setKernel(kernel);
    kernel.run('x = 1', 1);
    await vi.advanceTimersByTimeAsync(0);
    kernel.setStatus('autorestarting');
    kernel.setStatus('idle');
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops()).toEqual(['start client-key-1', 'cells 1 x = 1', 'end 1 crashed', 'start client-key-2 after 1']);
  });

  it('follows a kernel change without linking, and ignores the old kernel afterwards', async () => {
    create();
    const first = new FakeKernel();
    context.setKernel(first);
    first.run('old()', 1);
    await vi.advanceTimersByTimeAsync(0);
    const second = new FakeKernel('julia-1.10');
    context.setKernel(second);
    first.run('ignored()', 2);
    second.run('new()', 1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops()).toEqual(['start client-key-1', 'cells 1 old()', 'end 1 finished', 'start client-key-2', 'cells 2 new()']);
    expect(api.calls[3]).toMatchObject({ input: { kernelName: 'julia-1.10' } });
  });

  it('continues the run of its kernel after a page reload (the page that had it is gone)', async () => {
    const kernel = new FakeKernel();
    await outbox.addRun({
      clientKey: 'from-before-reload',
      start: {
        project: 'team/proj',
        clientKey: 'from-before-reload',
        notebookPath: 'work/analysis.ipynb',
        kernelName: 'python3',
        startedAt: '2025-03-04T11:00:00.000Z',
      },
      previousClientKey: null,
      kernelId: kernel.id,
      owner: 'page-before-reload',
      createdAt: 1,
      run: { runId: runId(7), name: 'calm-heron', url: `/t/team/proj/runs/${runId(7)}` },
      end: null,
    });
    context.session = { kernel };
    create();
    kernel.run('z = 3', 5);
    await vi.advanceTimersByTimeAsync(300);
    expect(ops()).toEqual(['cells 7 z = 3']);
    expect(capture.run?.name).toBe('calm-heron');
    expect(activations.map((a) => a.runId)).toEqual([null, runId(7)]);
  });

  it('does nothing until configured, then starts', async () => {
    config = null;
    create();
    const kernel = new FakeKernel();
    context.setKernel(kernel);
    kernel.run('ignored()', 1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(api.calls).toEqual([]);
    expect(capture.recording).toBe(false);

    config = CONFIGURED;
    capture.refresh();
    kernel.run('kept()', 2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops()).toEqual(['start client-key-1', 'cells 1 kept()']);
  });

  it('starts over in the new project when the project setting changes', async () => {
    create();
    const kernel = new FakeKernel();
    context.setKernel(kernel);
    kernel.run('x = 1', 1);
    await vi.advanceTimersByTimeAsync(0);
    config = { ...CONFIGURED, project: 'team/other' };
    capture.refresh();
    capture.refresh(); // a second change event with the same values starts nothing
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops()).toEqual(['start client-key-1', 'cells 1 x = 1', 'end 1 finished', 'start client-key-2']);
    expect(api.calls[3]).toMatchObject({ input: { project: 'team/other' } });
  });

  it('stops recording, and the kernel side, when switched off', async () => {
    create();
    const kernel = new FakeKernel();
    context.setKernel(kernel);
    kernel.run('x = 1', 1);
    await vi.advanceTimersByTimeAsync(0);
    config = null;
    capture.refresh();
    kernel.run('private()', 2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops()).toEqual(['start client-key-1', 'cells 1 x = 1', 'end 1 finished']);
    expect(deactivations).toBe(1);
  });

  it('records nothing of a paused notebook; pausing ends the run, resuming starts one', async () => {
    paused = true;
    create();
    const kernel = new FakeKernel();
    context.setKernel(kernel);
    kernel.run('secret()', 1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops()).toEqual([]);

    paused = false;
    capture.refresh();
    await vi.advanceTimersByTimeAsync(0);
    expect(ops()).toEqual(['start client-key-1']);
    kernel.run('public()', 2);
    paused = true;
    capture.refresh();
    kernel.run('secret_again()', 3);
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops()).toEqual(['start client-key-1', 'cells 1 public()', 'end 1 finished']);
    expect(deactivations).toBe(1);
    expect(capture.recording).toBe(false);
  });

  it('waits while the notebook metadata is not loaded (pause unknown)', async () => {
    paused = null;
    create();
    const kernel = new FakeKernel();
    kernel.status = 'starting';
    context.setKernel(kernel);
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops()).toEqual([]);
    paused = false;
    capture.refresh();
    await vi.advanceTimersByTimeAsync(0);
    expect(ops()).toEqual(['start client-key-1']);
  });

  it('starts a new run on request: ends this one, continues it, re-activates the kernel side', async () => {
    create();
    const kernel = new FakeKernel();
    context.setKernel(kernel);
    kernel.run('x = 1', 1);
    await vi.advanceTimersByTimeAsync(0);
    expect(capture.newRun()).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops()).toEqual(['start client-key-1', 'cells 1 x = 1', 'end 1 finished', 'start client-key-2 after 1']);
    expect(activations.map((a) => a.runId)).toEqual([null, runId(1), null, runId(2)]);
    expect(capture.run?.name).toBe('run-2');
  });

  it('ends the run as finished when the notebook closes, and stops the kernel side', async () => {
    create();
    const kernel = new FakeKernel();
    context.setKernel(kernel);
    kernel.run('x = 1', 1);
    await vi.advanceTimersByTimeAsync(0);
    context.disposed.emit();
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops()).toEqual(['start client-key-1', 'cells 1 x = 1', 'end 1 finished']);
    expect(capture.isDisposed).toBe(true);
    expect(deactivations).toBe(1);
  });

  it('sends nothing for a kernel session that ran nothing', async () => {
    create();
    const kernel = new FakeKernel();
    context.setKernel(kernel);
    await vi.advanceTimersByTimeAsync(0);
    context.setKernel(null);
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops()).toEqual([]);
  });

  it('reports a non-Python kernel as frontend capture only', async () => {
    activationAnswer = { kind: 'not-python', language: 'julia' };
    create();
    const kernel = new FakeKernel('julia-1.10');
    context.setKernel(kernel);
    kernel.run('x = 1', 1);
    await vi.advanceTimersByTimeAsync(0);
    expect(capture.kernelCapture).toEqual({ kind: 'not-python', language: 'julia' });
  });
});

describe('NotebookCapture on a kernel that holds its run', () => {
  let api: FakeIngestApi;
  let side: FakeKernelSide;
  let keys: number;
  let pages: Array<{ capture: NotebookCapture; shipper: Shipper; kernel: FakeKernel; context: FakeSessionContext; deactivations: number }>;
  const KERNEL_ID = 'kernel-shared';

  /** One browser (its own outbox and connection) with the notebook open on the shared kernel. */
  function page(status = 'idle') {
    const shipper = new Shipper({ api, outbox: new MemoryOutbox(), liveness: new SinglePageLiveness(`page-${pages.length}`) });
    const context = new FakeSessionContext();
    const kernel = new FakeKernel('python3', KERNEL_ID);
    kernel.status = status;
    const entry = { capture: null as unknown as NotebookCapture, shipper, kernel, context, deactivations: 0 };
    entry.capture = new NotebookCapture({
      sessionContext: context as unknown as ISessionContext,
      shipper,
      config: () => CONFIGURED,
      activate: side.activate,
      deactivate: () => {
        entry.deactivations += 1;
      },
      now: () => new Date('2025-03-04T12:00:00.000Z'),
      newKey: () => `client-key-${++keys}`,
    });
    context.setKernel(kernel);
    pages.push(entry);
    return entry;
  }

  const ops = () =>
    api.calls.map((c) =>
      c.op === 'startRun'
        ? `start ${c.input.clientKey}${c.input.previousRunId ? ` after ${c.input.previousRunId.slice(-1)}` : ''}`
        : c.op === 'cells'
          ? `cells ${c.runId.slice(-1)} ${c.cells.map((x) => x.source).join(',')}`
          : `end ${c.input.runId.slice(-1)} ${c.input.status}`,
    );

  beforeEach(() => {
    vi.useFakeTimers();
    api = new FakeIngestApi();
    side = new FakeKernelSide();
    keys = 0;
    pages = [];
  });

  afterEach(() => {
    for (const p of pages) {
      p.capture.dispose();
      p.shipper.dispose();
    }
    vi.useRealTimers();
  });

  it('a second browser joins the run the kernel holds: its first execution goes there, whole', async () => {
    const a = page();
    await vi.advanceTimersByTimeAsync(0);
    a.kernel.run('x = 1', 1);
    await vi.advanceTimersByTimeAsync(1000);
    const b = page();
    await vi.advanceTimersByTimeAsync(0);
    b.kernel.run('y = 2', 2, 'cell-2');
    await vi.advanceTimersByTimeAsync(1000);
    // b proposed client-key-2; the kernel answered client-key-1, which b opens (the same run)
    expect(side.activations.map((p) => [p.clientKey, p.runId?.slice(-1) ?? null])).toEqual([
      ['client-key-1', null],
      ['client-key-1', '1'],
      ['client-key-2', null],
      ['client-key-1', '1'],
    ]);
    expect(ops()).toEqual(['start client-key-1', 'cells 1 x = 1', 'start client-key-1', 'cells 1 y = 2']);
    expect(b.capture.run?.runId).toBe(runId(1));
  });

  it('two pages that ask at once record into the one run the kernel took first', async () => {
    const a = page('starting');
    const b = page('starting');
    await vi.advanceTimersByTimeAsync(0);
    a.kernel.run('x = 1', 1);
    b.kernel.run('y = 2', 2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops()).toEqual(['start client-key-1', 'start client-key-1', 'cells 1 x = 1', 'cells 1 y = 2']);
  });

  it('closing the notebook leaves the run to its kernel: not ended, kernel side still on', async () => {
    const a = page();
    await vi.advanceTimersByTimeAsync(0);
    a.kernel.run('x = 1', 1);
    a.kernel.startLong('train()');
    await vi.advanceTimersByTimeAsync(1000);
    a.context.disposed.emit();
    await vi.advanceTimersByTimeAsync(1000);
    // the running cell is the kernel's to record: no `aborted` record of it from here
    expect(ops()).toEqual(['start client-key-1', 'cells 1 x = 1']);
    expect(a.deactivations).toBe(0);
    // a page opened later joins it
    const b = page();
    await vi.advanceTimersByTimeAsync(0);
    b.kernel.run('y = 2', 2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops()).toEqual(['start client-key-1', 'cells 1 x = 1', 'start client-key-1', 'cells 1 y = 2']);
  });

  it('after a restart joins the run the restarted kernel opened itself, linked to the one before', async () => {
    const a = page();
    await vi.advanceTimersByTimeAsync(0);
    a.kernel.run('x = 1', 1);
    await vi.advanceTimersByTimeAsync(1000);
    a.kernel.setStatus('restarting');
    // cellmark.autostart in the new process: a new key, linked to run 1, created by the kernel
    const next = await api.startRun({
      project: 'team/proj',
      clientKey: 'kernel-opened',
      notebookPath: 'work/analysis.ipynb',
      kernelName: 'python3',
      startedAt: '2025-03-04T12:00:01.000Z',
      previousRunId: runId(1),
    });
    side.restart({ clientKey: 'kernel-opened', runId: next.runId, previousRunId: runId(1), startedAt: '2025-03-04T12:00:01.000Z' });
    a.kernel.setStatus('starting');
    a.kernel.setStatus('idle');
    await vi.advanceTimersByTimeAsync(0);
    a.kernel.run('y = 2', 1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops()).toEqual([
      'start client-key-1',
      'cells 1 x = 1',
      'start kernel-opened after 1',
      'end 1 finished',
      'start kernel-opened after 1',
      'cells 2 y = 2',
    ]);
    // the page asked to replace the run it had; the kernel kept its own
    expect(side.activations.at(-2)).toMatchObject({ clientKey: 'client-key-2', replaces: 'client-key-1' });
  });

  it('a new run asked for replaces the held run in the kernel, linked to it', async () => {
    const a = page();
    await vi.advanceTimersByTimeAsync(0);
    a.kernel.run('x = 1', 1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(a.capture.newRun()).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops()).toEqual(['start client-key-1', 'cells 1 x = 1', 'end 1 finished', 'start client-key-2 after 1']);
    expect(side.held).toMatchObject({ clientKey: 'client-key-2', runId: runId(2), previousRunId: runId(1) });
  });
});
