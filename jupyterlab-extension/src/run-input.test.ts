import { describe, expect, it } from 'vitest';
import { parseRunName, parseTags } from './run-input';

describe('parseTags', () => {
  it('splits on commas, trims, drops empties and duplicates', () => {
    expect(parseTags(' baseline, lr-sweep ,, baseline,gpu ')).toEqual(['baseline', 'lr-sweep', 'gpu']);
    expect(parseTags('')).toEqual([]);
  });

  it('keeps within the server limits', () => {
    expect(parseTags('x'.repeat(70))).toEqual(['x'.repeat(64)]);
    expect(parseTags(Array.from({ length: 60 }, (_, i) => `t${i}`).join(','))).toHaveLength(50);
  });
});

describe('parseRunName', () => {
  it('trims and caps the name; nothing to do for empty or unchanged', () => {
    expect(parseRunName('  baseline  ', 'old')).toBe('baseline');
    expect(parseRunName('y'.repeat(250), 'old')).toBe('y'.repeat(200));
    expect(parseRunName('   ', 'old')).toBeNull();
    expect(parseRunName(null, 'old')).toBeNull();
    expect(parseRunName('old', 'old')).toBeNull();
  });
});
