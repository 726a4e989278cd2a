// Unit tests for the run page's System charts from system/ keys.
import { describe, expect, it } from 'vitest';
import { executionSpans, gpuDevices, isSystemKey, runWindow, spanPosition, systemCharts } from './system-metrics.ts';

const gpu = (dev: string, ...fields: string[]) => fields.map((f) => `system/gpu.${dev}.${f}`);

describe('system charts', () => {
  it('draws one chart per quantity with a line per GPU, MIG instances included, in device order', () => {
    const keys = [
      ...gpu('1', 'util', 'mem_used_mib', 'mem_total_mib'),
      ...gpu('0', 'util', 'mem_used_mib', 'mem_total_mib', 'power_w', 'power_limit_w'),
      ...gpu('0.mig1', 'util'),
    ];
    expect(gpuDevices(keys)).toEqual(['0', '0.mig1', '1']);
    const charts = systemCharts(keys);
    expect(charts.map((c) => c.id)).toEqual(['gpu-util', 'gpu-memory', 'gpu-power']);
    expect(charts[0]!.lines.map((l) => l.label)).toEqual(['GPU 0', 'GPU 0.mig1', 'GPU 1']);
    expect(charts[1]!.lines.map((l) => [l.label, l.dashed ?? false])).toEqual([
      ['GPU 0 used', false],
      ['GPU 0 total', true],
      ['GPU 1 used', false],
      ['GPU 1 total', true],
    ]);
    // a GPU keeps its colour from chart to chart
    expect(charts[1]!.lines[0]!.color).toBe(charts[0]!.lines[0]!.color);
    expect(charts[2]!.lines.map((l) => l.key)).toEqual(['system/gpu.0.power_w', 'system/gpu.0.power_limit_w']);
  });

  it('hides quantities that were not logged, and totals without what they bound', () => {
    expect(systemCharts(['train/loss'])).toEqual([]);
    expect(systemCharts([...gpu('0', 'mem_total_mib'), 'system/mem.system_total_mib'])).toEqual([]);
    const charts = systemCharts(['system/cpu.process_pct', 'system/mem.process_rss_mib', 'system/mem.system_total_mib', 'system/net.recv_mbps']);
    expect(charts.map((c) => [c.id, c.lines.map((l) => l.key)])).toEqual([
      ['cpu', ['system/cpu.process_pct']],
      ['memory', ['system/mem.process_rss_mib', 'system/mem.system_total_mib']],
      ['network', ['system/net.recv_mbps']],
    ]);
  });

  it('gives keys it does not know a chart each, so nothing logged is hidden', () => {
    const charts = systemCharts(['system/gpu.0.util', 'system/gpu.0.fan_pct', 'system/battery.pct']);
    expect(charts.map((c) => c.id)).toEqual(['gpu-util', 'system/battery.pct', 'system/gpu.0.fan_pct']);
    expect(isSystemKey('system/cpu.process_pct')).toBe(true);
    expect(isSystemKey('systemic/loss')).toBe(false);
  });
});

describe('cells on the time axis', () => {
  const cells = [
    { executionKey: 'b', executionCount: 2, startedAt: '2026-11-26T10:00:20.000Z', endedAt: '2026-11-26T10:00:35.000Z', status: 'ok' },
    { executionKey: 'a', executionCount: 1, startedAt: '2026-11-26T10:00:05.000Z', endedAt: '2026-11-26T10:00:06.000Z', status: 'ok' },
    { executionKey: 'c', executionCount: null, startedAt: '2026-11-26T10:01:00.000Z', endedAt: null, status: 'running' },
  ];
  const t = (s: string) => Date.parse(`2026-11-26T10:${s}.000Z`);

  it('spans each execution, in time order, a running one up to now', () => {
    const spans = executionSpans(cells, t('01:10'));
    expect(spans.map((s) => [s.id, s.label, s.to - s.from])).toEqual([
      ['a', '[1]', 1000],
      ['b', '[2]', 15_000],
      ['c', '[ ]', 10_000],
    ]);
  });

  it("shares the run's window: start to end, or to now rounded up while it runs", () => {
    const spans = executionSpans(cells.slice(0, 2), 0);
    expect(runWindow({ startedAt: '2026-11-26T10:00:00.000Z', endedAt: '2026-11-26T10:02:00.000Z', status: 'finished' }, spans, 0)).toEqual([
      t('00:00'),
      t('02:00'),
    ]);
    const live = runWindow({ startedAt: '2026-11-26T10:00:00.000Z', endedAt: null, status: 'running' }, spans, t('00:50') + 1);
    expect(live).toEqual([t('00:00'), t('01:00')]);
    // an execution recorded before the run's start widens the window
    expect(runWindow({ startedAt: '2026-11-26T10:00:10.000Z', endedAt: '2026-11-26T10:00:40.000Z', status: 'finished' }, spans, 0)[0]).toBe(t('00:05'));
  });

  it('places spans across the plot as fractions, clipped to the view', () => {
    expect(spanPosition({ from: 25, to: 50 }, [0, 100])).toEqual({ left: 0.25, width: 0.25 });
    expect(spanPosition({ from: -10, to: 10 }, [0, 100])).toEqual({ left: 0, width: 0.1 });
    expect(spanPosition({ from: 200, to: 300 }, [0, 100])).toBeNull();
  });
});
