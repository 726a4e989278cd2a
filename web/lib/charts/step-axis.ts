// Ticks for the step axis. Steps are whole numbers, but uPlot's default increments include
// 0.1, 0.2 and 0.5: a chart of one point (x from s to s + 1) or of steps 0…3 got ticks at
// 0, 0.2, 0.4, … which, rounded for display, read "0 0 0 1 1 1". Here every tick is a whole
// step, spaced by 1, 2 or 5 × 10ⁿ so that neighbouring labels keep `minSpacePx` apart.

/** Whole-step increments, 1, 2, 5, 10, 20, 50, … up to past the largest safe integer. */
export const STEP_INCRS: readonly number[] = Array.from({ length: 16 }, (_, e) => [1, 2, 5].map((m) => m * 10 ** e)).flat();

/** uPlot's default spacing between x-axis ticks, in CSS pixels. */
export const STEP_TICK_SPACE_PX = 50;

/**
 * The step ticks for an axis over [min, max] drawn across `widthPx`: multiples of the
 * smallest whole increment that keeps ticks `minSpacePx` apart, each once, in order.
 */
export function stepTicks(min: number, max: number, widthPx: number, minSpacePx = STEP_TICK_SPACE_PX): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max) || max < min) return [];
  const span = max - min;
  if (span === 0) return Number.isInteger(min) ? [min] : [];
  const perPx = span / Math.max(1, widthPx);
  const incr = STEP_INCRS.find((i) => i / perPx >= minSpacePx) ?? STEP_INCRS[STEP_INCRS.length - 1]!;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / incr) * incr; t <= max; t += incr) ticks.push(t);
  return ticks;
}
