// The GPU readings the kernel side pushes over the `cellmark.system` comm
// (cellmark/kernel/session.py, _system_sample) and what the status bar says
// about them: "GPU 87% · 12.3/80 GiB".

/** One device of a sample: a GPU ("0") or a MIG instance ("0.mig1"). */
export interface IGpuDevice {
  id: string;
  util: number | null;
  memUsedMib: number | null;
  memTotalMib: number | null;
  /** Memory used on it by the kernel's process tree; null when unknown. */
  procMemMib: number | null;
}

export interface IGpuSample {
  devices: IGpuDevice[];
  /** "no NVIDIA GPU found (…)" when there are none. */
  error: string | null;
  /** "nvml" or "nvidia-smi". */
  source: string | null;
  /** ISO time of the sample. */
  time: string | null;
  runId: string | null;
}

/** A sample older than this is not shown: the kernel stopped sampling or is gone. */
export const STALE_MS = 30_000;

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** A comm message's data as a sample; null when it is not one. */
export function parseGpuSample(data: unknown): IGpuSample | null {
  if (typeof data !== 'object' || data === null || (data as { type?: unknown }).type !== 'sample') {
    return null;
  }
  const d = data as Record<string, unknown>;
  const devices = Array.isArray(d.devices) ? d.devices : [];
  return {
    devices: devices
      .filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null && typeof (x as { id?: unknown }).id === 'string')
      .map((x) => ({
        id: x.id as string,
        util: num(x.util),
        memUsedMib: num(x.memUsedMib),
        memTotalMib: num(x.memTotalMib),
        procMemMib: num(x.procMemMib),
      })),
    error: str(d.error),
    source: str(d.source),
    time: str(d.time),
    runId: str(d.runId),
  };
}

/** The run's GPUs: those the kernel's processes use memory on, else every device. */
export function runDevices(sample: IGpuSample): IGpuDevice[] {
  const used = sample.devices.filter((d) => (d.procMemMib ?? 0) > 0);
  return used.length > 0 ? used : sample.devices;
}

function gib(mib: number): string {
  const value = mib / 1024;
  return value >= 100 ? value.toFixed(0) : value.toFixed(1).replace(/\.0$/, '');
}

function percent(values: number[]): string {
  return `${Math.round(values.reduce((a, b) => a + b, 0) / values.length)}%`;
}

export interface IGpuView {
  text: string;
  title: string;
}

/** The status-bar text and tooltip; null hides the item (no sample, no GPU, stale). */
export function describeGpu(sample: IGpuSample | null, now: number = Date.now()): IGpuView | null {
  if (!sample || sample.devices.length === 0) {
    return null;
  }
  const at = sample.time ? Date.parse(sample.time) : NaN;
  if (Number.isFinite(at) && now - at > STALE_MS) {
    return null;
  }
  const devices = runDevices(sample);
  const utils = devices.map((d) => d.util).filter((u): u is number => u !== null);
  const withMemory = devices.filter((d) => d.memUsedMib !== null && d.memTotalMib !== null);
  const parts: string[] = [devices.length === 1 ? 'GPU' : `${devices.length} GPUs`];
  if (utils.length > 0) {
    parts[0] += ` ${percent(utils)}`;
  }
  if (withMemory.length > 0) {
    const used = withMemory.reduce((a, d) => a + (d.memUsedMib as number), 0);
    const total = withMemory.reduce((a, d) => a + (d.memTotalMib as number), 0);
    parts.push(`${gib(used)}/${gib(total)} GiB`);
  }
  const lines = devices.map((d) => {
    const bits = [d.util !== null ? `${Math.round(d.util)}% busy` : 'utilisation n/a'];
    if (d.memUsedMib !== null && d.memTotalMib !== null) {
      bits.push(`${gib(d.memUsedMib)}/${gib(d.memTotalMib)} GiB`);
    }
    if (d.procMemMib !== null) {
      bits.push(`this kernel ${gib(d.procMemMib)} GiB`);
    }
    return `GPU ${d.id}: ${bits.join(', ')}`;
  });
  const others = sample.devices.length - devices.length;
  const note = others > 0 ? [`(${others} more ${others === 1 ? 'device' : 'devices'} on this machine, not used by this kernel)`] : [];
  const from = sample.source ? ` (${sample.source})` : '';
  return {
    text: parts.join(' · '),
    title: [`Cellmark: GPUs of this notebook's kernel${from}, sampled by the kernel.`, ...lines, ...note].join('\n'),
  };
}
