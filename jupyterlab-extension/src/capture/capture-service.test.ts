import type { INotebookTracker } from '@jupyterlab/notebook';
import { Signal } from '@lumino/signaling';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { IUser } from '../api';
import { DEFAULT_CONFIG, ICellmarkConfig } from '../config';
import { CellmarkError } from '../request';
import { FakeIngestApi, httpError, unreachable } from '../test-support/fake-api';
import { FakeKernel, FakePanel, FakeTracker } from '../test-support/fake-lab';
import type { ICellmarkSettings } from '../tokens';
import { CaptureService } from './capture-service';
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

  function create(): CaptureService {
    service = new CaptureService({
      settings,
      tracker: tracker as unknown as INotebookTracker,
      shipper,
      whoami: () => whoami(),
      recheckDelaysMs: [1000]
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
      notebookPath: 'work/analysis.ipynb'
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
    expect(states.some(e => e?.kind === 'unreachable')).toBe(true);
  });

  it('ends the run when its notebook closes', async () => {
    settings.set({ apiToken: 't', project: 'team/proj' });
    create();
    const panel = tracker.open();
    panel.sessionContext.setKernel(new FakeKernel());
    await vi.advanceTimersByTimeAsync(0);
    panel.dispose();
    await vi.advanceTimersByTimeAsync(300);
    expect(api.calls.map(c => c.op)).toEqual(['startRun', 'endRun']);
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
    expect(api.calls.map(c => c.op)).toEqual(['startRun', 'cells']);
    const cells = api.calls[1];
    expect(cells?.op === 'cells' ? cells.cells.length : 0).toBe(1);

    second.dispose(false); // closing one view keeps recording
    expect(service.state.run?.name).toBe('run-1');
    first.dispose();
    await vi.advanceTimersByTimeAsync(300);
    expect(api.calls.map(c => c.op)).toEqual(['startRun', 'cells', 'endRun']);
  });
});
