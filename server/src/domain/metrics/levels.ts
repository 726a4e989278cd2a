// The rollup ladder: level L aggregates buckets of 8^L steps. A chart asks for `width`
// pixels over a step range; the coarsest level whose buckets still fit in one pixel serves it.
export const ROLLUP_BASE = 8;
export const ROLLUP_LEVELS = [1, 2, 3, 4, 5, 6] as const;

export const bucketWidth = (level: number) => ROLLUP_BASE ** level;

/** Steps per pixel for `width` pixels over [x0, x1]. */
export function stepsPerPixel(x0: number, x1: number, width: number): number {
  return Math.max(1, (x1 - x0 + 1) / width);
}

/** The rollup level to read for this resolution, or 0 for raw points (zoomed in). */
export function levelFor(stepsPerPx: number): number {
  let chosen = 0;
  for (const level of ROLLUP_LEVELS) if (bucketWidth(level) <= stepsPerPx) chosen = level;
  return chosen;
}

/**
 * The pixel a point at `step` lands in when reading `level` (0 = raw). A rollup bucket is
 * placed by its first step, so every point in it shares the pixel; a bucket that starts
 * before the range (its later steps are inside) joins the first pixel. The reference
 * implementation in tests uses the same rule.
 */
export function pixelOf(step: number, level: number, x0: number, stepsPerPx: number): number {
  const start = level === 0 ? step : Math.floor(step / bucketWidth(level)) * bucketWidth(level);
  return Math.max(0, Math.floor((start - x0) / stepsPerPx));
}
