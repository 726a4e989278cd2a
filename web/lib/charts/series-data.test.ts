// Unit tests for metrics.series → uPlot columns: the shared x grid, gaps, envelopes, log scale.
import { describe, expect, it } from 'vitest';
import {
  alignSeries,
  envelopeBands,
  expandNulls,
  formatStep,
  formatSteps,
  formatValue,
  nearestBucket,
  nearestIndex,
  seriesIndex,
  toUplotData,
  valueText,
  type WireSeries,
  zoomRange,
} from './series-data.ts';

const series = (runId: string, rows: Array<[x: number, min: number | null, max: number | null, last: number | string | null, count?: number]>): WireSeries => ({
  runId,
  x: rows.map((r) => r[0]),
  min: rows.map((r) => r[1]),
  max: rows.map((r) => r[2]),
  last: rows.map((r) => r[3]),
  lastStep: rows.map((r) => r[0] + 1),
  count: rows.map((r) => r[4] ?? 2),
  nonFinite: rows.map((r) => (typeof r[3] === 'string' ? 1 : 0)),
});

describe('alignSeries', () => {
  it('puts every run on the union of bucket starts; a missing bucket is undefined (joined), not a gap', () => {
    const cols = alignSeries([
      series('a', [
        [0, 1, 2, 1.5],
        [10, 1, 3, 2],
        [20, 0.5, 1, 0.7],
      ]),
      series('b', [
        [0, 5, 6, 5.5],
        [20, 4, 5, 4.2],
      ]),
    ]);
    expect(cols.x).toEqual([0, 10, 20]);
    expect(cols.runs[0]!.last).toEqual([1.5, 2, 0.7]);
    expect(cols.runs[1]!.last).toEqual([5.5, undefined, 4.2]);
    expect(cols.runs[1]!.min).toEqual([5, undefined, 4]);
    expect(cols.runs[1]!.max).toEqual([6, undefined, 5]);
    expect(cols.runs[1]!.lastStep).toEqual([1, undefined, 21]);
  });

  it('draws NaN and ±Infinity last values as gaps and remembers them for markers and the tooltip', () => {
    const cols = alignSeries([
      series('a', [
        [0, 1, 2, 1],
        [1, 1, 2, 'NaN'],
        [2, 1, 2, 'Infinity'],
        [3, 1, 2, '-Infinity'],
        [4, null, null, null],
        [5, 1, 2, 2],
      ]),
    ]);
    const run = cols.runs[0]!;
    expect(run.last).toEqual([1, null, null, null, null, 2]);
    expect(run.nonFinite).toEqual([1, 2, 3, 4]);
    expect(run.raw.slice(1, 4)).toEqual(['NaN', 'Infinity', '-Infinity']);
    // the envelope keeps the finite spread of a bucket whose last value was NaN …
    expect(run.min.slice(0, 4)).toEqual([1, 1, 1, 1]);
    // … and breaks only where a bucket held no finite value at all
    expect(run.min[4]).toBeNull();
    expect(run.max[4]).toBeNull();
  });

  it('widens a gap over the positions where the run has no bucket, so it reaches its own neighbours', () => {
    const cols = alignSeries([
      series(
        'dense',
        Array.from({ length: 7 }, (_, i): [number, number, number, number] => [i, 0, 1, 0.5]),
      ),
      series('sparse', [
        [0, 1, 1, 1],
        [3, 1, 1, 'NaN'],
        [6, 1, 1, 1],
      ]),
    ]);
    expect(cols.runs[1]!.last).toEqual([1, null, null, null, null, null, 1]);
    expect(cols.runs[0]!.last.every((v) => v === 0.5)).toBe(true);
  });

  it('leaves values ≤ 0 off a log scale without calling them gaps', () => {
    const cols = alignSeries(
      [
        series('a', [
          [0, -1, 2, 1],
          [1, 0, 0, 0],
          [2, 1, 2, 'NaN'],
        ]),
      ],
      { log: true },
    );
    const run = cols.runs[0]!;
    expect(run.last).toEqual([1, undefined, null]);
    expect(run.min).toEqual([undefined, undefined, 1]);
    expect(run.max).toEqual([2, undefined, 2]);
  });

  it('handles runs with no points', () => {
    const cols = alignSeries([series('a', []), series('b', [[4, 1, 1, 1]])]);
    expect(cols.x).toEqual([4]);
    expect(cols.runs[0]!.last).toEqual([undefined]);
  });
});

describe('uPlot data and bands', () => {
  it('lays out x, then line/min/max per run, with one band from max down to min per run', () => {
    const cols = alignSeries([series('a', [[0, 1, 3, 2]]), series('b', [[0, 4, 6, 5]])]);
    expect(toUplotData(cols)).toEqual([[0], [2], [1], [3], [5], [4], [6]]);
    expect(seriesIndex(1)).toEqual({ line: 4, min: 5, max: 6 });
    expect(envelopeBands(2, (i) => `c${i}`)).toEqual([
      { series: [3, 2], fill: 'c0' },
      { series: [6, 5], fill: 'c1' },
    ]);
  });
});

describe('expandNulls', () => {
  it('turns adjacent undefined into null, and nothing else', () => {
    expect(expandNulls([1, undefined, null, undefined, undefined, 2, undefined])).toEqual([1, null, null, null, null, 2, undefined]);
    expect(expandNulls([undefined, 1, undefined])).toEqual([undefined, 1, undefined]);
  });
});

describe('lookups', () => {
  it('finds the nearest x and the nearest bucket of a sparse run', () => {
    expect(nearestIndex([0, 10, 20], 14)).toBe(1);
    expect(nearestIndex([0, 10, 20], 16)).toBe(2);
    expect(nearestIndex([0, 10, 20], -5)).toBe(0);
    expect(nearestIndex([], 3)).toBe(-1);
    const cols = alignSeries([
      series('a', [
        [0, 0, 0, 0],
        [1, 0, 0, 0],
        [2, 0, 0, 0],
        [3, 0, 0, 0],
      ]),
      series('b', [[3, 1, 1, 1]]),
    ]);
    expect(nearestBucket(cols.runs[1]!, 2, 2)).toBe(3);
    expect(nearestBucket(cols.runs[1]!, 0, 2)).toBe(-1);
  });
});

describe('zoom and formatting', () => {
  it('turns a drag into an ordered whole-step range at least two steps wide', () => {
    expect(zoomRange(120.4, 80.6)).toEqual([80, 121]);
    expect(zoomRange(-3, 10)).toEqual([0, 10]);
    expect(zoomRange(5.2, 5.4)).toEqual([5, 7]);
  });

  it('formats steps and values', () => {
    expect(formatStep(950)).toBe('950');
    expect(formatStep(12_500)).toBe('12.5K');
    expect(formatStep(2_000_000)).toBe('2M');
    expect(formatSteps([0, 25_000, 50_000])).toEqual(['0', '25K', '50K']);
    // zoomed in: compact labels would all read "50K"
    expect(formatSteps([49_980, 50_000, 50_020])).toEqual(['49,980', '50,000', '50,020']);
    expect(formatValue(0.012345)).toBe('0.01235');
    expect(formatValue(1.5e-7)).toBe('1.500e-7');
    expect(formatValue(12345.67)).toBe('12,345.7');
    expect(valueText('NaN')).toBe('NaN');
    expect(valueText(null)).toBe('NaN');
    expect(valueText('-Infinity')).toBe('-Infinity');
    expect(valueText(0.5)).toBe('0.5');
  });
});
