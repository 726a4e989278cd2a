import type { INotebookTracker } from '@jupyterlab/notebook';
import { Signal } from '@lumino/signaling';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { IUser } from '../api';
import { DEFAULT_CONFIG, type ICellmarkConfig } from '../config';
import type { CellmarkError } from '../request';
import { describeStatus } from '../status/describe';
import { FakeIngestApi, httpError, unreachable } from '../test-support/fake-api';
import { FakeKernel, FakePanel, FakeTracker } from '../test-support/fake-lab';
import type { ICellmarkSettings } from '../tokens';
import { CaptureService, type ICaptureServiceOptions } from './capture-service';
import { Shipper } from './shipper';

class FakeSettings implements ICellmarkSettings {
  readonly changed = new Signal<this, ICellmarkConfig>(this);
  constructor(public config: ICellmarkConfig) {}

  set(patch: Partial<ICellmarkConfig>): void {
    this.config = { ...this.config, ...patch };
    this.changed.emit(this.config);
  }
}

const ADA: IUser = { id: 'u1', name: 'Ada', email: 'ada@example.com' };

describe('CaptureService', () => {
  let settings: FakeSettings;
  let tracker: FakeTracker;
  let api: FakeIngestApi;
  let shipper: Shipper;
  let whoami: () => Promise<IUser>;
  let service: CaptureService;

  function create(options: Partial<ICaptureServiceOptions> = {}): CaptureService {
    service = new CaptureService({
      settings,
      tracker: tracker as unknown as INotebookTracker,
      shipper,
      whoami: () => whoami(),
      recheckDelaysMs: [1000],
      captureOptions: { activate: async () => ({ kind: 'on', version: '0.1.0', implementation: null }), deactivate: () => undefined },
      ...options,
    });
    return service;
  }

  beforeEach(() => {
    vi.useFakeTimers();
    settings = new FakeSettings(DEFAULT_CONFIG);
    tracker = new FakeTracker();
    api = new FakeIngestApi();
    shipper = new Shipper({ api });
    whoami = vi.fn(async () => ADA);
  });

  afterEach(() => {
    service.dispose();
    shipper.dispose();
    vi.useRealTimers();
  });

  it('reports missing settings and records nothing with the defaults', async () => {
    create();
    const panel = tracker.open();
    panel.sessionContext.setKernel(new FakeKernel());
    await vi.advanceTimersByTimeAsync(1000);
    expect(service.state.missing).toEqual(['apiToken', 'project']);
    expect(service.state.error).toBeNull();
    expect(whoami).not.toHaveBeenCalled();
    expect(api.calls).toEqual([]);
  });

  it('checks the token and records the current notebook once configured', async () => {
    create();
    const panel = tracker.open();
    const kernel = new FakeKernel();
    panel.sessionContext.setKernel(kernel);
    settings.set({ apiToken: 'cm_token', project: 'team/proj' });
    await vi.advanceTimersByTimeAsync(0);
    expect(whoami).toHaveBeenCalledTimes(1);
    expect(service.state).toMatchObject({
      missing: [],
      user: ADA,
      run: { name: 'run-1' },
      runUrl: 'http://localhost:3000/t/team/proj/runs/00000000-0000-4000-8000-000000000001',
      notebookPath: 'work/analysis.ipynb',
    });
    kernel.run('1 + 1', 1);
    expect(service.state.pending).toBe(1);
    await vi.advanceTimersByTimeAsync(300);
    expect(service.state.pending).toBe(0);
  });

  it('shows a rejected token until the settings change', async () => {
    whoami = async () => {
      throw httpError(401, 'unknown token');
    };
    settings.set({ apiToken: 'wrong', project: 'team/proj' });
    create();
    await vi.advanceTimersByTimeAsync(0);
    expect(service.state.error?.message).toBe('token rejected (401): unknown token');

    whoami = async () => ADA;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(service.state.error).not.toBeNull(); // no polling with a bad token

    settings.set({ apiToken: 'right' });
    await vi.advanceTimersByTimeAsync(0);
    expect(service.state.error).toBeNull();
    expect(service.state.user).toEqual(ADA);
  });

  it('keeps checking an unreachable server and clears the error when it is back', async () => {
    let up = false;
    whoami = async () => {
      if (!up) {
        throw unreachable();
      }
      return ADA;
    };
    settings.set({ apiToken: 't', project: 'team/proj' });
    create();
    const states: Array<CellmarkError | null> = [];
    service.stateChanged.connect((_, state) => states.push(state.error));
    await vi.advanceTimersByTimeAsync(0);
    expect(service.state.error?.kind).toBe('unreachable');
    up = true;
    await vi.advanceTimersByTimeAsync(1000);
    expect(service.state.error).toBeNull();
    expect(states.some((e) => e?.kind === 'unreachable')).toBe(true);
  });

  describe('the status item after an outage', () => {
    /** The server refuses connections until `up`; /healthz with it, as a real one does. */
    let up: boolean;
    const status = () => describeStatus(service.state);

    it('says the server is back within 2 s of it being healthy, after a long outage mid-notebook', async () => {
      settings.set({ apiToken: 't', project: 'team/proj' });
      create();
      const panel = tracker.open();
      const kernel = new FakeKernel();
      panel.sessionContext.setKernel(kernel);
      kernel.run('a', 1);
      await vi.advanceTimersByTimeAsync(300);
      expect(status()).toMatchObject({ text: 'Cellmark: run-1', mode: 'recording' });

      up = false;
      api.failWith = () => (up ? null : unreachable());
      kernel.run('b', 2);
      await vi.advanceTimersByTimeAsync(30_000);
      kernel.run('c', 3);
      await vi.advanceTimersByTimeAsync(90_000);
      expect(status()).toMatchObject({ text: 'Cellmark: ⚠ server unreachable · 2 pending', mode: 'error' });

      up = true;
      await vi.advanceTimersByTimeAsync(2000);
      expect(status()).toMatchObject({ text: 'Cellmark: run-1', mode: 'recording' });
      expect(api.acceptedKeys()).toHaveLength(3);
    });

    it('checks the token again within 2 s of an unreachable server coming back', async () => {
      up = false;
      whoami = async () => {
        if (!up) {
          throw unreachable();
        }
        return ADA;
      };
      api.failWith = () => (up ? null : unreachable());
      settings.set({ apiToken: 't', project: 'team/proj' });
      create({ recheckDelaysMs: [60_000], healthy: () => api.healthy() });
      await vi.advanceTimersByTimeAsync(45_000);
      expect(status().mode).toBe('error');
      up = true;
      await vi.advanceTimersByTimeAsync(2000);
      expect(service.state.error).toBeNull();
      expect(service.state.user).toEqual(ADA);
      service.dispose();
      const probes = api.healthChecks;
      await vi.advanceTimersByTimeAsync(10_000);
      expect(api.healthChecks).toBe(probes);
    });
  });

  it('ends the run when its notebook closes', async () => {
    settings.set({ apiToken: 't', project: 'team/proj' });
    create();
    const panel = tracker.open();
    const kernel = new FakeKernel();
    panel.sessionContext.setKernel(kernel);
    kernel.run('x = 1', 1);
    await vi.advanceTimersByTimeAsync(0);
    panel.dispose();
    await vi.advanceTimersByTimeAsync(300);
    expect(api.calls.map((c) => c.op)).toEqual(['startRun', 'cells', 'endRun']);
  });

  it('records the position of the executed cell in the current notebook order', async () => {
    settings.set({ apiToken: 't', project: 'team/proj' });
    create();
    const panel = tracker.open();
    const kernel = new FakeKernel();
    panel.sessionContext.setKernel(kernel);
    kernel.run('a', 1, 'cell-2');
    panel.model.cellIds = ['cell-2', 'cell-0', 'cell-1']; // moved up after it ran
    kernel.run('b', 2, 'cell-2');
    await vi.advanceTimersByTimeAsync(300);
    const cells = api.calls.find((c) => c.op === 'cells');
    expect(cells?.op === 'cells' ? cells.cells.map((c) => c.position) : []).toEqual([2, 0]);
  });

  it('pauses and resumes the current notebook through its metadata', async () => {
    settings.set({ apiToken: 't', project: 'team/proj' });
    create();
    const panel = tracker.open();
    const kernel = new FakeKernel();
    panel.sessionContext.setKernel(kernel);
    kernel.run('x = 1', 1);
    await vi.advanceTimersByTimeAsync(0);
    expect(service.togglePause()).toBe(true);
    expect(panel.model.metadata).toEqual({ cellmark: { capture: false } });
    expect(service.state.paused).toBe(true);
    kernel.run('secret()', 2);
    await vi.advanceTimersByTimeAsync(300);
    expect(api.calls.map((c) => c.op)).toEqual(['startRun', 'cells', 'endRun']);

    expect(service.togglePause()).toBe(false);
    expect(panel.model.metadata).toEqual({});
    await vi.advanceTimersByTimeAsync(0);
    expect(api.calls.map((c) => c.op)).toEqual(['startRun', 'cells', 'endRun', 'startRun']);
    expect(service.state.paused).toBe(false);
  });

  it('does not record a notebook opened paused, nor one paused by someone else later', async () => {
    settings.set({ apiToken: 't', project: 'team/proj' });
    create();
    const panel = new FakePanel();
    panel.model.metadata.cellmark = { capture: false };
    tracker.open(panel);
    const kernel = new FakeKernel();
    panel.sessionContext.setKernel(kernel);
    kernel.run('secret()', 1);
    await vi.advanceTimersByTimeAsync(300);
    expect(api.calls).toEqual([]);
    panel.model.deleteMetadata('cellmark'); // e.g. the file was reverted
    await vi.advanceTimersByTimeAsync(0);
    expect(api.calls.map((c) => c.op)).toEqual(['startRun']);
    panel.model.setMetadata('cellmark', { capture: false });
    await vi.advanceTimersByTimeAsync(300);
    expect(api.calls.map((c) => c.op)).toEqual(['startRun', 'endRun']);
  });

  it('names and tags the current run through ingest.updateRun', async () => {
    const updates: unknown[] = [];
    settings.set({ apiToken: 't', project: 'team/proj' });
    create({
      updateRun: async (input) => {
        updates.push(input);
        return { name: input.name ?? 'run-1', tags: input.tags ?? [], notes: null };
      },
    });
    const panel = tracker.open();
    const kernel = new FakeKernel();
    panel.sessionContext.setKernel(kernel);
    await expect(service.renameRun('x')).rejects.toThrow(/no Cellmark run/);
    kernel.run('x = 1', 1);
    await vi.advanceTimersByTimeAsync(0);
    await service.renameRun('  baseline lr=1e-3 ');
    await service.setRunTags(['baseline', 'gpu']);
    const runId = '00000000-0000-4000-8000-000000000001';
    expect(updates).toEqual([
      { runId, name: 'baseline lr=1e-3' },
      { runId, tags: ['baseline', 'gpu'] },
    ]);
    expect(service.state.run?.name).toBe('baseline lr=1e-3');
  });

  it('starts a new run for the current notebook on request', async () => {
    settings.set({ apiToken: 't', project: 'team/proj' });
    create();
    const panel = tracker.open();
    const kernel = new FakeKernel();
    panel.sessionContext.setKernel(kernel);
    kernel.run('x = 1', 1);
    await vi.advanceTimersByTimeAsync(0);
    expect(service.newRun()).toBe(true);
    await vi.advanceTimersByTimeAsync(300);
    expect(api.calls.map((c) => (c.op === 'startRun' ? `start ${c.input.previousRunId ?? '-'}` : c.op))).toEqual([
      'start -',
      'cells',
      'endRun',
      'start 00000000-0000-4000-8000-000000000001',
    ]);
    expect(service.state.run?.name).toBe('run-2');
  });

  it('records a notebook open in two views once', async () => {
    settings.set({ apiToken: 't', project: 'team/proj' });
    create();
    const first = tracker.open();
    const kernel = new FakeKernel();
    first.sessionContext.setKernel(kernel);
    const second = tracker.open(new FakePanel(first.sessionContext));
    await vi.advanceTimersByTimeAsync(0);
    kernel.run('x = 1', 1);
    await vi.advanceTimersByTimeAsync(300);
    expect(api.calls.map((c) => c.op)).toEqual(['startRun', 'cells']);
    const cells = api.calls[1];
    expect(cells?.op === 'cells' ? cells.cells.length : 0).toBe(1);

    second.dispose(false); // closing one view keeps recording
    expect(service.state.run?.name).toBe('run-1');
    first.dispose();
    await vi.advanceTimersByTimeAsync(300);
    expect(api.calls.map((c) => c.op)).toEqual(['startRun', 'cells', 'endRun']);
  });
});
