// Unit tests for the run page's config table rows.
import { describe, expect, it } from 'vitest';
import { configRows, formatConfigValue } from './config.ts';

const change = (key: string, value: unknown, executionCount: number, second: number) => ({
  key,
  value,
  executionKey: `e${executionCount}`,
  executionCount,
  startedAt: `2026-01-01T00:00:${String(second).padStart(2, '0')}.000Z`,
});

describe('configRows', () => {
  it('groups changes per key in execution order with the final value', () => {
    const rows = configRows({ lr: 0.01, optimizer: 'adam' }, [change('lr', 0.01, 7, 30), change('lr', 0.1, 2, 10), change('optimizer', 'adam', 2, 10)]);
    expect(rows.map((r) => r.key)).toEqual(['lr', 'optimizer']);
    expect(rows[0]!.value).toBe(0.01);
    expect(rows[0]!.changes.map((c) => [c.executionCount, c.value])).toEqual([
      [2, 0.1],
      [7, 0.01],
    ]);
  });

  it('falls back to the last change when the final config lacks a key', () => {
    expect(configRows({}, [change('x', 1, 1, 1), change('x', 2, 2, 2)])[0]!.value).toBe(2);
  });
});

describe('formatConfigValue', () => {
  it('shows words bare, and quotes strings that would read as numbers', () => {
    expect(formatConfigValue('adam')).toBe('adam');
    expect(formatConfigValue('0.001')).toBe('"0.001"');
    expect(formatConfigValue(0.001)).toBe('0.001');
    expect(formatConfigValue([64, 64])).toBe('[64,64]');
    expect(formatConfigValue(null)).toBe('null');
    expect(formatConfigValue(false)).toBe('false');
  });
});
