import type { ISessionContext } from '@jupyterlab/apputils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_CONFIG, ICellmarkConfig } from '../config';
import { FakeIngestApi } from '../test-support/fake-api';
import { FakeKernel, FakeSessionContext } from '../test-support/fake-lab';
import { NotebookCapture } from './notebook-capture';
import { Shipper } from './shipper';

const CONFIGURED: ICellmarkConfig = { ...DEFAULT_CONFIG, apiToken: 'cm_token', project: 'team/proj' };

describe('NotebookCapture', () => {
  let api: FakeIngestApi;
  let shipper: Shipper;
  let context: FakeSessionContext;
  let config: ICellmarkConfig | null;
  let keys: number;
  let capture: NotebookCapture;

  function create(): NotebookCapture {
    capture = new NotebookCapture({
      sessionContext: context as unknown as ISessionContext,
      shipper,
      config: () => config,
      now: () => new Date('2025-03-04T12:00:00.000Z'),
      newKey: () => `client-key-${++keys}`
    });
    return capture;
  }

  const ops = () =>
    api.calls.map(c =>
      c.op === 'startRun'
        ? `start ${c.input.clientKey}`
        : c.op === 'cells'
          ? `cells ${c.runId.slice(-1)} ${c.cells.map(x => x.source).join(',')}`
          : `end ${c.input.runId.slice(-1)} ${c.input.status}`
    );

  beforeEach(() => {
    vi.useFakeTimers();
    api = new FakeIngestApi();
    shipper = new Shipper({ api });
    context = new FakeSessionContext();
    config = CONFIGURED;
    keys = 0;
  });

  afterEach(() => {
    capture?.dispose();
    shipper.dispose();
    vi.useRealTimers();
  });

  it('starts a run when the notebook gets a kernel and records its executions', async () => {
    create();
    expect(capture.recording).toBe(false);
    const kernel = new FakeKernel();
    context.setKernel(kernel);
    expect(capture.recording).toBe(true);
    kernel.run('a = 1', 1);
    kernel.run('print(a)', 2);
    await vi.advanceTimersByTimeAsync(300);

    expect(api.calls[0]).toMatchObject({
      op: 'startRun',
      input: {
        project: 'team/proj',
        clientKey: 'client-key-1',
        notebookPath: 'work/analysis.ipynb',
        kernelName: 'python3',
        startedAt: '2025-03-04T12:00:00.000Z'
      }
    });
    expect(ops()).toEqual(['start client-key-1', 'cells 1 a = 1,print(a)']);
    expect(capture.run?.name).toBe('run-1');
  });

  it('picks up a kernel that already exists when the notebook is tracked', async () => {
    const kernel = new FakeKernel();
    context.session = { kernel };
    create();
    await vi.advanceTimersByTimeAsync(0);
    expect(ops()).toEqual(['start client-key-1']);
  });

  it('ends the run as finished on restart and starts a new one', async () => {
    create();
    const kernel = new FakeKernel();
    context.setKernel(kernel);
    kernel.run('x = 1', 1);
    kernel.setStatus('restarting');
    expect(capture.recording).toBe(false);
    kernel.setStatus('starting');
    kernel.setStatus('idle');
    kernel.run('y = 2', 1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops()).toEqual([
      'start client-key-1',
      'cells 1 x = 1',
      'end 1 finished',
      'start client-key-2',
      'cells 2 y = 2'
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

  it('treats an automatic restart after a crash as crashed', async () => {
    create();
    const kernel = new FakeKernel();
    context.setKernel(kernel);
    await vi.advanceTimersByTimeAsync(0); // the server created the run
    kernel.setStatus('autorestarting');
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops()).toEqual(['start client-key-1', 'end 1 crashed']);
  });

  it('follows a kernel change and ignores the old kernel afterwards', async () => {
    create();
    const first = new FakeKernel();
    context.setKernel(first);
    await vi.advanceTimersByTimeAsync(0); // the server created the run
    const second = new FakeKernel('julia-1.10');
    context.setKernel(second);
    first.run('old()', 1);
    second.run('new()', 1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops()).toEqual(['start client-key-1', 'end 1 finished', 'start client-key-2', 'cells 2 new()']);
    expect(api.calls[2]).toMatchObject({ input: { kernelName: 'julia-1.10' } });
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
    await vi.advanceTimersByTimeAsync(0); // the server created the run
    config = { ...CONFIGURED, project: 'team/other' };
    capture.refresh();
    capture.refresh(); // a second change event with the same values starts nothing
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops()).toEqual(['start client-key-1', 'end 1 finished', 'start client-key-2']);
    expect(api.calls[2]).toMatchObject({ input: { project: 'team/other' } });
  });

  it('stops recording when switched off', async () => {
    create();
    const kernel = new FakeKernel();
    context.setKernel(kernel);
    await vi.advanceTimersByTimeAsync(0); // the server created the run
    config = null;
    capture.refresh();
    kernel.run('private()', 1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops()).toEqual(['start client-key-1', 'end 1 finished']);
  });

  it('ends the run as finished when the notebook closes', async () => {
    create();
    context.setKernel(new FakeKernel());
    await vi.advanceTimersByTimeAsync(0); // the server created the run
    context.disposed.emit();
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops()).toEqual(['start client-key-1', 'end 1 finished']);
    expect(capture.isDisposed).toBe(true);
  });

  it('sends nothing for a kernel session that ended before its run was created and ran nothing', async () => {
    create();
    const kernel = new FakeKernel();
    context.setKernel(kernel);
    kernel.setStatus('restarting'); // before the shipper sent startRun
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops()).toEqual([]);
    kernel.setStatus('idle');
    await vi.advanceTimersByTimeAsync(1000);
    expect(ops()).toEqual(['start client-key-2']);
  });
});
