// Unit tests for the chart x axis: URL state, duration labels, relative time per run.
import { describe, expect, it } from 'vitest';
import type { WireSeries } from './series-data.ts';
import { formatRelative, formatX, toRelative, windowOfRun, xAxisFromQuery, xAxisToQuery } from './time-axis.ts';

const series = (runId: string, rows: Array<[x: number, last: number | string | null, step: number]>): WireSeries => ({
  runId,
  x: rows.map((r) => r[0]),
  min: rows.map((r) => (typeof r[1] === 'number' ? r[1] : null)),
  max: rows.map((r) => (typeof r[1] === 'number' ? r[1] : null)),
  last: rows.map((r) => r[1]),
  lastStep: rows.map((r) => r[2]),
  count: rows.map(() => 1),
  nonFinite: rows.map((r) => (typeof r[1] === 'number' ? 0 : 1)),
});

describe('x axis in the URL', () => {
  it('reads and writes ?x, keeping other parameters; step is the default and stays out', () => {
    expect(xAxisFromQuery(new URLSearchParams('x=time'))).toBe('time');
    expect(xAxisFromQuery(new URLSearchParams('x=relative'))).toBe('relative');
    expect(xAxisFromQuery(new URLSearchParams('x=bogus'))).toBe('step');
    expect(xAxisToQuery('relative', new URLSearchParams('tab=charts&key=a')).toString()).toBe('tab=charts&key=a&x=relative');
    expect(xAxisToQuery('step', new URLSearchParams('tab=charts&x=time')).toString()).toBe('tab=charts');
  });
});

describe('durations', () => {
  it('labels ticks the way people read them', () => {
    expect(formatRelative(0)).toBe('0s');
    expect(formatRelative(250)).toBe('250ms');
    expect(formatRelative(1500)).toBe('1.5s');
    expect(formatRelative(45_000)).toBe('45s');
    expect(formatRelative(90_000)).toBe('1m 30s');
    expect(formatRelative(120_000)).toBe('2m');
    expect(formatRelative(2 * 3600_000 + 5 * 60_000)).toBe('2h 05m');
    expect(formatRelative(3 * 86400_000 + 4 * 3600_000)).toBe('3d 4h');
    expect(formatX(90_000, 'relative')).toBe('+1m 30s');
    expect(formatX(1234, 'step')).toBe('step 1,234');
  });
});

describe('relative time', () => {
  it('moves each run by its own start so runs started apart overlay from 0', () => {
    const a = series('a', [
      [1_000_000, 1, 0],
      [1_010_000, 2, 1],
    ]);
    const b = series('b', [
      [5_000_000, 3, 0],
      [5_020_000, 4, 1],
    ]);
    const out = toRelative(
      [
        { series: a, startMs: 1_000_000, range: [1_000_000, 1_010_000] },
        { series: b, startMs: 5_000_000, range: [5_000_000, 5_020_000] },
      ],
      20_001,
      null,
    );
    expect(out.range).toEqual([0, 20_000]);
    expect(out.perPixel).toBe(1);
    expect(out.series[0]!.x).toEqual([0, 10_000]);
    expect(out.series[1]!.x).toEqual([0, 20_000]);
    expect(out.series[1]!.last).toEqual([3, 4]);
  });

  it('merges buckets of one run that share a pixel: min/max over both, the later last, counts added', () => {
    const a = series('a', [
      [100, 5, 0],
      [150, 'NaN', 1],
      [160, 1, 2],
      [800, 7, 3],
    ]);
    const out = toRelative([{ series: a, startMs: 100, range: [100, 900] }], 4, [0, 799]);
    expect(out.perPixel).toBe(200);
    expect(out.series[0]).toMatchObject({ x: [0, 600], last: [1, 7], min: [1, 7], max: [5, 7], count: [3, 1], nonFinite: [1, 0], lastStep: [2, 3] });
  });

  it('leaves out buckets outside a zoomed window and keeps runs without points empty', () => {
    const a = series('a', [
      [1000, 1, 0],
      [2000, 2, 1],
      [3000, 3, 2],
    ]);
    const out = toRelative(
      [
        { series: a, startMs: 1000, range: [1000, 3000] },
        { series: undefined, startMs: 0, range: null },
      ],
      1001,
      [500, 1500],
    );
    expect(out.series[0]!.x).toEqual([1000]);
    expect(out.series[1]!.x).toEqual([]);
    expect(toRelative([{ series: undefined, startMs: 0, range: null }], 100, null).range).toBeNull();
  });

  it("maps a relative window to each run's wall-time window", () => {
    expect(windowOfRun([1000, 2000.5], 1_700_000_000_000)).toEqual([1_700_000_001_000, 1_700_000_002_001]);
  });
});
