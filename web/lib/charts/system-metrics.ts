// The run page's System section: which charts to draw from the `system/…` keys a run logged
// (the kernel side's sampler, x = wall time). One chart per quantity with a line per GPU
// (utilisation, memory used against total, power against its limit, temperature, …), then
// CPU, RAM, disk and network; quantities the run did not log are left out.
//
// Keys (a fixed contract with the kernel side): system/gpu.<dev>.<field>, <dev> "0", "1" or a
// MIG instance "0.mig1"; system/cpu.{process_pct,system_pct}, system/mem.{process_rss_mib,
// system_used_mib,system_total_mib}, system/disk.{read_mbps,write_mbps}, system/net.{recv_mbps,sent_mbps}.
import { runColor } from './colors.ts';

export const SYSTEM_PREFIX = 'system/';
export const isSystemKey = (key: string) => key.startsWith(SYSTEM_PREFIX);

export interface SystemLine {
  key: string;
  label: string;
  color: string;
  /** a limit or total, drawn dashed beside what is used */
  dashed?: boolean;
}

export interface SystemChartSpec {
  id: string;
  title: string;
  lines: SystemLine[];
}

const GPU_KEY = /^system\/gpu\.(.+)\.([a-z_]+)$/;

interface GpuQuantity {
  id: string;
  title: string;
  fields: Array<{ field: string; label: (dev: string) => string; dashed?: boolean; shade?: number }>;
}

/** The GPU charts, in the order they show. `shade` offsets the colour of a second solid line per GPU. */
const GPU_CHARTS: GpuQuantity[] = [
  { id: 'gpu-util', title: 'GPU utilisation (%)', fields: [{ field: 'util', label: (d) => `GPU ${d}` }] },
  {
    id: 'gpu-memory',
    title: 'GPU memory (MiB)',
    fields: [
      { field: 'mem_used_mib', label: (d) => `GPU ${d} used` },
      { field: 'mem_total_mib', label: (d) => `GPU ${d} total`, dashed: true },
      { field: 'proc_mem_mib', label: (d) => `GPU ${d} this kernel`, shade: 1 },
    ],
  },
  {
    id: 'gpu-power',
    title: 'GPU power (W)',
    fields: [
      { field: 'power_w', label: (d) => `GPU ${d}` },
      { field: 'power_limit_w', label: (d) => `GPU ${d} limit`, dashed: true },
    ],
  },
  { id: 'gpu-temp', title: 'GPU temperature (°C)', fields: [{ field: 'temp_c', label: (d) => `GPU ${d}` }] },
  { id: 'gpu-mem-util', title: 'GPU memory bandwidth utilisation (%)', fields: [{ field: 'mem_util', label: (d) => `GPU ${d}` }] },
  { id: 'gpu-sm-clock', title: 'GPU SM clock (MHz)', fields: [{ field: 'sm_clock_mhz', label: (d) => `GPU ${d}` }] },
  {
    id: 'gpu-pcie',
    title: 'PCIe (MB/s)',
    fields: [
      { field: 'pcie_rx_mbps', label: (d) => `GPU ${d} rx` },
      { field: 'pcie_tx_mbps', label: (d) => `GPU ${d} tx`, shade: 1 },
    ],
  },
];

const HOST_CHARTS: Array<{ id: string; title: string; lines: Array<{ key: string; label: string; dashed?: boolean }> }> = [
  {
    id: 'cpu',
    title: 'CPU (%)',
    lines: [
      { key: 'system/cpu.process_pct', label: 'this kernel' },
      { key: 'system/cpu.system_pct', label: 'whole system' },
    ],
  },
  {
    id: 'memory',
    title: 'RAM (MiB)',
    lines: [
      { key: 'system/mem.process_rss_mib', label: 'this kernel (RSS)' },
      { key: 'system/mem.system_used_mib', label: 'system used' },
      { key: 'system/mem.system_total_mib', label: 'system total', dashed: true },
    ],
  },
  {
    id: 'disk',
    title: 'Disk (MB/s)',
    lines: [
      { key: 'system/disk.read_mbps', label: 'read' },
      { key: 'system/disk.write_mbps', label: 'write' },
    ],
  },
  {
    id: 'network',
    title: 'Network (MB/s)',
    lines: [
      { key: 'system/net.recv_mbps', label: 'received' },
      { key: 'system/net.sent_mbps', label: 'sent' },
    ],
  },
];

/** GPU devices in natural order: 0, 0.mig1, 0.mig2, 1, 2, 10. */
export function gpuDevices(keys: readonly string[]): string[] {
  const devices = new Set<string>();
  for (const key of keys) {
    const m = GPU_KEY.exec(key);
    if (m) devices.add(m[1]!);
  }
  return [...devices].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
}

/** The charts for these keys; anything under system/ that no chart knows gets a chart of its own. */
export function systemCharts(keys: readonly string[]): SystemChartSpec[] {
  const present = new Set(keys.filter(isSystemKey));
  const used = new Set<string>();
  const devices = gpuDevices([...present]);
  const charts: SystemChartSpec[] = [];
  for (const quantity of GPU_CHARTS) {
    const lines: SystemLine[] = [];
    devices.forEach((dev, i) => {
      for (const f of quantity.fields) {
        const key = `system/gpu.${dev}.${f.field}`;
        if (!present.has(key)) continue;
        used.add(key);
        lines.push({ key, label: f.label(dev), color: runColor(i + (f.shade ?? 0) * devices.length), ...(f.dashed ? { dashed: true } : {}) });
      }
    });
    // a chart of totals or limits alone says little; it shows when what they bound is there
    if (lines.some((l) => !l.dashed)) charts.push({ id: quantity.id, title: quantity.title, lines });
  }
  for (const chart of HOST_CHARTS) {
    const lines = chart.lines.filter((l) => present.has(l.key));
    for (const l of lines) used.add(l.key);
    if (lines.some((l) => !l.dashed)) {
      charts.push({
        id: chart.id,
        title: chart.title,
        lines: lines.map((l, i) => ({ key: l.key, label: l.label, color: l.dashed ? '#71717a' : runColor(i), ...(l.dashed ? { dashed: true } : {}) })),
      });
    }
  }
  for (const key of [...present].filter((k) => !used.has(k)).sort()) {
    if (/_total_mib$|_limit_w$/.test(key)) continue;
    charts.push({ id: key, title: key.slice(SYSTEM_PREFIX.length), lines: [{ key, label: key.slice(SYSTEM_PREFIX.length), color: runColor(0) }] });
  }
  return charts;
}

export interface ExecutionSpan {
  id: string;
  from: number;
  to: number;
  label: string;
  count: number | null;
  status: string;
}

/** Each execution's wall-time span (a running one reaches `now`), labelled "[7]". */
export function executionSpans(
  cells: ReadonlyArray<{ executionKey: string; executionCount: number | null; startedAt: string; endedAt: string | null; status: string }>,
  now: number,
): ExecutionSpan[] {
  return cells
    .map((c) => {
      const from = Date.parse(c.startedAt);
      const end = c.endedAt ? Date.parse(c.endedAt) : c.status === 'running' ? now : from;
      return {
        id: c.executionKey,
        from,
        to: Math.max(from, end),
        label: c.executionCount === null ? '[ ]' : `[${c.executionCount}]`,
        count: c.executionCount,
        status: c.status,
      };
    })
    .filter((s) => Number.isFinite(s.from))
    .sort((a, b) => a.from - b.from);
}

/** How far the live window's end is rounded up, so a running run's queries repeat a while. */
const LIVE_STEP_MS = 15_000;

/**
 * The wall-time window every System chart shares: the run's start (or its first execution,
 * if that was earlier) to its end; a run still going ends at `now`, rounded up.
 */
export function runWindow(run: { startedAt: string; endedAt: string | null; status: string }, spans: readonly ExecutionSpan[], now: number): [number, number] {
  const start = Math.min(Date.parse(run.startedAt), ...spans.map((s) => s.from));
  const lastSpan = Math.max(start, ...spans.map((s) => s.to));
  const end =
    run.endedAt && run.status !== 'running' ? Math.max(Date.parse(run.endedAt), lastSpan) : Math.ceil(Math.max(now, lastSpan) / LIVE_STEP_MS) * LIVE_STEP_MS;
  return [Math.floor(start), Math.max(Math.ceil(end), Math.floor(start) + 1000)];
}

/** Where a span sits across the plot, as fractions of its width (clipped), or null when outside. */
export function spanPosition(span: { from: number; to: number }, view: [number, number]): { left: number; width: number } | null {
  const [v0, v1] = view;
  if (span.to < v0 || span.from > v1 || v1 <= v0) return null;
  const left = (Math.max(span.from, v0) - v0) / (v1 - v0);
  const right = (Math.min(span.to, v1) - v0) / (v1 - v0);
  return { left, width: Math.max(0, right - left) };
}
