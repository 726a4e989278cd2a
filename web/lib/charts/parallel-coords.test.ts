// Unit tests for parallel-coordinate axes (scaling) and brushing.
import { describe, expect, it } from 'vitest';
import { configDiff } from './config-diff.ts';
import { brushBetween, buildAxis, matchesBrushes, niceStep, position, summaryValue, valueAt, varyingKeys } from './parallel-coords.ts';

describe('axes', () => {
  it('scales numbers linearly between their min (0) and max (1)', () => {
    const axis = buildAxis('batch', 'batch', [32, 64, 128, undefined]);
    expect(axis.kind).toBe('linear');
    expect(position(axis, 32)).toBe(0);
    expect(position(axis, 128)).toBe(1);
    expect(position(axis, 80)).toBeCloseTo(0.5);
    expect(position(axis, undefined)).toBeNull();
    expect(position(axis, 'x')).toBeNull();
    expect(axis.ticks.map((t) => t.label)).toEqual(['40', '60', '80', '100', '120']);
  });

  it('puts positive numbers spanning two decades or more on a log axis', () => {
    const axis = buildAxis('lr', 'lr', [1e-4, 1e-3, 1e-2]);
    expect(axis.kind).toBe('log');
    expect(position(axis, 1e-3)).toBeCloseTo(0.5);
    expect(valueAt(axis, 0.5)).toBeCloseTo(1e-3);
    expect(axis.ticks.map((t) => t.label)).toEqual(['1e-4', '1e-3', '1e-2']);
  });

  it('places one distinct number in the middle', () => {
    const axis = buildAxis('seed', 'seed', [7, 7]);
    expect(position(axis, 7)).toBe(0.5);
  });

  it('spreads categories evenly, in natural order, mixing strings and booleans', () => {
    const axis = buildAxis('opt', 'opt', ['sgd', 'adam', true, 'adam', null]);
    expect(axis.kind).toBe('category');
    expect(axis.categories).toEqual(['adam', 'sgd', 'true']);
    expect(position(axis, 'adam')).toBe(0);
    expect(position(axis, 'sgd')).toBe(0.5);
    expect(position(axis, true)).toBe(1);
    expect(position(axis, 'rmsprop')).toBeNull();
    const one = buildAxis('x', 'x', ['only']);
    expect(position(one, 'only')).toBe(0.5);
  });

  it('picks nice tick steps', () => {
    expect(niceStep(100, 4)).toBe(50);
    expect(niceStep(0.9, 4)).toBe(0.5);
    expect(niceStep(7, 4)).toBe(2);
  });
});

describe('brushing', () => {
  it('keeps runs inside every brushed axis; missing values fall outside a brush', () => {
    const brushes = [{ lo: 0.2, hi: 0.6 }, null, { lo: 0, hi: 0.1 }];
    expect(matchesBrushes([0.4, 0.9, 0.05], brushes)).toBe(true);
    expect(matchesBrushes([0.7, 0.9, 0.05], brushes)).toBe(false);
    expect(matchesBrushes([0.4, null, 0.05], brushes)).toBe(true);
    expect(matchesBrushes([0.4, 0.9, null], brushes)).toBe(false);
    expect(matchesBrushes([0.6, 0, 0], brushes)).toBe(true);
    expect(matchesBrushes([null, null, null], [null, null, null])).toBe(true);
  });

  it('makes a brush from a drag in either direction, clamped; a click clears it', () => {
    expect(brushBetween(0.8, 0.3)).toEqual({ lo: 0.3, hi: 0.8 });
    expect(brushBetween(-0.2, 1.4)).toEqual({ lo: 0, hi: 1 });
    expect(brushBetween(0.5, 0.503)).toBeNull();
    // ends near the axis's ends snap to them, so the extreme runs are not missed by a pixel
    expect(brushBetween(0.99, 0.5)).toEqual({ lo: 0.5, hi: 1 });
    expect(brushBetween(0.01, 0.4)).toEqual({ lo: 0, hi: 0.4 });
  });
});

describe('config keys and summaries', () => {
  it('offers keys that vary across runs and have scalar values', () => {
    const configs = [
      { lr: 0.1, seed: 1, layers: [1, 2], opt: 'adam', only: 1 },
      { lr: 0.01, seed: 1, layers: [2, 2], opt: 'sgd' },
      { lr: 0.001, seed: 1, layers: [1, 2] },
    ];
    expect(varyingKeys(configs)).toEqual(['lr', 'opt']);
  });

  it('reads a summary: explicit value first, non-finite as missing', () => {
    expect(summaryValue({ last: 0.5 })).toBe(0.5);
    expect(summaryValue({ last: 0.5, value: 0.9 })).toBe(0.9);
    expect(summaryValue({ last: 'NaN' })).toBeUndefined();
    expect(summaryValue(undefined)).toBeUndefined();
  });
});

describe('configDiff', () => {
  it('marks keys whose values differ or are missing somewhere', () => {
    const rows = configDiff([
      { lr: 0.1, model: { depth: 2 }, seed: 1 },
      { lr: 0.2, model: { depth: 2 }, seed: 1, extra: true },
    ]);
    expect(rows.map((r) => [r.key, r.differs])).toEqual([
      ['extra', true],
      ['lr', true],
      ['model', false],
      ['seed', false],
    ]);
    expect(rows[0]!.values).toEqual([undefined, true]);
  });
});
