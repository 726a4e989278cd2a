import { describe, expect, it } from 'vitest';
import { COMM_TARGET, GpuMonitor, type ICommKernel, type ICommLike } from './gpu-monitor';
import { describeGpu, parseGpuSample } from './gpu-sample';

const NOW = Date.parse('2026-11-26T12:00:10Z');

function sample(devices: object[], extra: object = {}) {
  return { type: 'sample', devices, error: null, source: 'nvml', time: '2026-11-26T12:00:09Z', runId: 'r1', ...extra };
}

const H100 = { id: '0', util: 87.4, memUsedMib: 12595, memTotalMib: 81559, procMemMib: 10240 };

class FakeCommKernel implements ICommKernel {
  targets = new Map<string, (comm: ICommLike, msg: { content: { data: unknown } }) => void | PromiseLike<void>>();
  constructor(readonly id: string) {}
  registerCommTarget(target: string, callback: (comm: ICommLike, msg: { content: { data: unknown } }) => void): void {
    this.targets.set(target, callback);
  }
  /** The kernel side opening its comm; returns the frontend's comm end. */
  open(data: unknown): ICommLike {
    const comm: ICommLike = { onMsg: null, onClose: null };
    void this.targets.get(COMM_TARGET)?.(comm, { content: { data } });
    return comm;
  }
}

describe('describeGpu', () => {
  it('shows one GPU as utilisation and memory', () => {
    const view = describeGpu(parseGpuSample(sample([H100])), NOW);
    expect(view?.text).toBe('GPU 87% · 12.3/79.6 GiB');
    expect(view?.title).toContain('GPU 0: 87% busy, 12.3/79.6 GiB, this kernel 10 GiB');
  });

  it('shows only the GPUs the kernel uses when it uses some', () => {
    const idle = { id: '1', util: 0, memUsedMib: 4, memTotalMib: 81559, procMemMib: 0 };
    const other = { ...H100, id: '2', util: 100 };
    const view = describeGpu(parseGpuSample(sample([H100, idle, other])), NOW);
    expect(view?.text).toBe('2 GPUs 94% · 24.6/159 GiB');
    expect(view?.title).toContain('(1 more device on this machine, not used by this kernel)');
  });

  it('shows every device before the kernel uses any, and leaves out what is missing', () => {
    const mig = { id: '0.mig1', util: null, memUsedMib: 13, memTotalMib: 9984, procMemMib: null };
    const gb10 = { id: '1', util: 12, memUsedMib: null, memTotalMib: null, procMemMib: null };
    expect(describeGpu(parseGpuSample(sample([mig])), NOW)?.text).toBe('GPU · 0/9.8 GiB');
    expect(describeGpu(parseGpuSample(sample([gb10])), NOW)?.text).toBe('GPU 12%');
    expect(describeGpu(parseGpuSample(sample([mig])), NOW)?.title).toContain('GPU 0.mig1: utilisation n/a');
  });

  it('hides without GPUs, without a sample and when the sample is stale', () => {
    expect(describeGpu(parseGpuSample(sample([], { error: 'no NVIDIA GPU found (nvidia-smi is not on PATH)' })), NOW)).toBeNull();
    expect(describeGpu(null, NOW)).toBeNull();
    expect(describeGpu(parseGpuSample(sample([H100], { time: '2026-11-26T11:59:00Z' })), NOW)).toBeNull();
  });

  it('ignores messages that are not samples', () => {
    expect(parseGpuSample({ type: 'hello' })).toBeNull();
    expect(parseGpuSample('x')).toBeNull();
    expect(parseGpuSample(sample([{ util: 3 }, H100]))?.devices.map((d) => d.id)).toEqual(['0']);
  });
});

describe('GpuMonitor', () => {
  it('keeps the latest sample per kernel from the comm the kernel opens', () => {
    const monitor = new GpuMonitor();
    const a = new FakeCommKernel('a');
    const b = new FakeCommKernel('b');
    monitor.watch(a);
    monitor.watch(a); // idempotent
    monitor.watch(b);
    const changed: string[] = [];
    monitor.changed.connect((_, id) => changed.push(id));

    const comm = a.open({ type: 'hello' });
    expect(monitor.sample('a')).toBeNull();
    void comm.onMsg?.({ content: { data: sample([H100]) } });
    void comm.onMsg?.({ content: { data: sample([{ ...H100, util: 12 }]) } });
    expect(monitor.sample('a')?.devices[0]?.util).toBe(12);
    expect(monitor.sample('b')).toBeNull();
    expect(changed).toEqual(['a', 'a']);

    void comm.onClose?.({});
    expect(monitor.sample('a')).toBeNull();
    expect(changed).toEqual(['a', 'a', 'a']);
  });

  it('forgets the sample when the kernel side says it stopped', () => {
    const monitor = new GpuMonitor();
    const k = new FakeCommKernel('k');
    monitor.watch(k);
    const comm = k.open(sample([H100]));
    void comm.onMsg?.({ content: { data: { type: 'stopped' } } });
    expect(monitor.sample('k')).toBeNull();
  });

  it('takes a sample carried by the comm open itself (a reactivated kernel)', () => {
    const monitor = new GpuMonitor();
    const k = new FakeCommKernel('k');
    monitor.watch(k);
    k.open(sample([H100]));
    expect(monitor.sample('k')?.devices).toHaveLength(1);
  });
});
