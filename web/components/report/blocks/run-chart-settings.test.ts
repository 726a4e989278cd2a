import { describe, expect, it } from 'vitest';
import { clampLimit, normalizeFilter, settingsOf } from './run-chart-settings.ts';

describe('normalizeFilter', () => {
  it('takes the filter out of a runs-table link, dropping other parameters', () => {
    expect(normalizeFilter('http://localhost:3000/t/a/b?tab=runs&status=finished&tag=baseline&cfg.lr=0.001#x')).toBe(
      'status=finished&tag=baseline&cfg.lr=0.001',
    );
    expect(normalizeFilter('?notebook=train')).toBe('notebook=train');
    expect(normalizeFilter('user=u1&status=crashed')).toBe('user=u1&status=crashed');
  });
  it('is empty when nothing filters', () => {
    expect(normalizeFilter('hello world')).toBe('');
    expect(normalizeFilter('?tab=charts&cfg.=1')).toBe('');
  });
});

describe('clampLimit', () => {
  it('keeps 1…100, defaults what is not a number', () => {
    expect(clampLimit(0)).toBe(1);
    expect(clampLimit('250')).toBe(100);
    expect(clampLimit('7.4')).toBe(7);
    expect(clampLimit('x')).toBe(10);
  });
});

describe('settingsOf', () => {
  it('reads attributes written by anyone defensively', () => {
    expect(settingsOf({ source: 'filter', runIds: 'nope', keys: ['a', 1], filter: 3, limit: null })).toEqual({
      source: 'filter',
      runIds: [],
      filter: '',
      limit: 10,
      keys: [],
    });
    expect(settingsOf({ source: 'x', runIds: ['r1'], keys: ['loss'], filter: 'tag=a', limit: 5 })).toMatchObject({
      source: 'runs',
      runIds: ['r1'],
      keys: ['loss'],
    });
  });
});
