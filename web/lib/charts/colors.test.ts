// Unit tests for run colours.
import { describe, expect, it } from 'vitest';
import { runColor, withAlpha } from './colors.ts';

describe('run colours', () => {
  it('gives 100 runs distinct colours', () => {
    expect(new Set(Array.from({ length: 100 }, (_, i) => runColor(i))).size).toBe(100);
  });

  it('adds alpha to hex and hsl colours', () => {
    expect(withAlpha('#4f46e5', 0.2)).toBe('rgba(79, 70, 229, 0.2)');
    expect(withAlpha('hsl(120 65% 45%)', 0.2)).toBe('hsl(120 65% 45% / 0.2)');
  });
});
