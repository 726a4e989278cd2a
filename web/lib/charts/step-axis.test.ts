// Unit tests for the step axis ticks: whole steps only, never a label twice.
import { describe, expect, it } from 'vitest';
import { formatSteps } from './series-data.ts';
import { STEP_INCRS, stepTicks } from './step-axis.ts';

/** What the axis reads: the labels the chart draws for these ticks. */
const labels = (min: number, max: number, widthPx = 600) => formatSteps(stepTicks(min, max, widthPx));

const distinct = (values: readonly unknown[]) => new Set(values).size === values.length;

describe('step axis ticks', () => {
  it('one point (the chart shows step s to s + 1): the two whole steps, not 0 0 0 1 1 1', () => {
    expect(labels(0, 1)).toEqual(['0', '1']);
    expect(labels(41, 42)).toEqual(['41', '42']);
    // a lone step with no width at all
    expect(stepTicks(7, 7, 600)).toEqual([7]);
  });

  it('two points one step apart, and steps 0…3: each whole step once', () => {
    expect(labels(3, 4)).toEqual(['3', '4']);
    expect(labels(0, 3)).toEqual(['0', '1', '2', '3']);
    // a narrow chart takes fewer, still whole steps
    expect(labels(0, 3, 120)).toEqual(['0', '2']);
  });

  it('large ranges: round increments with room between labels', () => {
    const ticks = stepTicks(0, 1_000_000, 600);
    expect(ticks).toEqual([0, 100_000, 200_000, 300_000, 400_000, 500_000, 600_000, 700_000, 800_000, 900_000, 1_000_000]);
    expect(formatSteps(ticks)[1]).toBe('100K');
    const far = stepTicks(12_345, 9_876_543_210, 800);
    expect(far.every((t) => Number.isInteger(t) && t >= 12_345 && t <= 9_876_543_210)).toBe(true);
    expect(far.length).toBeGreaterThan(3);
    expect(far.length).toBeLessThanOrEqual(800 / 50 + 1);
    expect(distinct(formatSteps(far))).toBe(true);
  });

  it('any range and width: whole, increasing, spaced, distinct labels', () => {
    for (const [min, max] of [
      [0, 1],
      [0, 2],
      [5, 6],
      [0, 3],
      [0, 7],
      [99, 113],
      [0, 1234],
      [49_980, 50_020],
      [1e9, 1e9 + 3],
      [0, 2 ** 52],
    ]) {
      for (const width of [60, 240, 600, 1600]) {
        const ticks = stepTicks(min!, max!, width);
        expect(ticks.length, `${min}…${max} at ${width}px`).toBeGreaterThan(0);
        expect(ticks.every(Number.isInteger)).toBe(true);
        expect(ticks.every((t, i) => i === 0 || t > ticks[i - 1]!)).toBe(true);
        if (ticks.length > 1) expect(((ticks[1]! - ticks[0]!) / (max! - min!)) * width).toBeGreaterThanOrEqual(50);
        expect(distinct(formatSteps(ticks)), `${min}…${max} at ${width}px`).toBe(true);
      }
    }
  });

  it('has no fractional increments', () => {
    expect(STEP_INCRS.every((i) => Number.isInteger(i) && i >= 1)).toBe(true);
    expect(stepTicks(0, 1, 600, 10)).toEqual([0, 1]);
  });
});
