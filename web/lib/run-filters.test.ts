// Unit tests for runs-table filters ↔ URL query and their API form.
import { describe, expect, it } from 'vitest';
import { emptyFilters, filtersFromQuery, filtersToQuery, hasFilters, parseConfigValue, type RunFilters, toApiFilter } from './run-filters.ts';

describe('filters in the URL', () => {
  it('round-trips every filter, including awkward config keys and values', () => {
    const filters: RunFilters = {
      status: ['running', 'crashed'],
      userId: 'u_123',
      notebook: 'experiments/train & eval',
      tag: 'baseline v2',
      config: [
        { key: 'lr', value: '0.001' },
        { key: 'model.layers=deep', value: '[64, 64]' },
        { key: 'name', value: 'a&b=c?' },
      ],
    };
    const query = filtersToQuery(filters);
    expect(filtersFromQuery(new URLSearchParams(query.toString()))).toEqual(filters);
    expect(query.toString()).toContain('cfg.lr=0.001');
  });

  it('keeps parameters it does not own and drops stale filter ones', () => {
    const base = new URLSearchParams('tab=runs&status=finished&cfg.old=1&x=y');
    const query = filtersToQuery({ ...emptyFilters(), tag: 't' }, base);
    expect(query.toString()).toBe('tab=runs&x=y&tag=t');
  });

  it('ignores unknown statuses and accepts comma lists from hand-written links', () => {
    expect(filtersFromQuery(new URLSearchParams('status=crashed,bogus&status=running')).status).toEqual(['running', 'crashed']);
    expect(filtersFromQuery(new URLSearchParams('')).config).toEqual([]);
  });
});

describe('config values', () => {
  it('are JSON when they parse, else strings', () => {
    expect(parseConfigValue('0.001')).toBe(0.001);
    expect(parseConfigValue(' 64 ')).toBe(64);
    expect(parseConfigValue('true')).toBe(true);
    expect(parseConfigValue('null')).toBeNull();
    expect(parseConfigValue('[64,64]')).toEqual([64, 64]);
    expect(parseConfigValue('"0.001"')).toBe('0.001');
    expect(parseConfigValue('adam')).toBe('adam');
    expect(parseConfigValue('{oops')).toBe('{oops');
  });
});

describe('toApiFilter', () => {
  it('is undefined without filters and skips half-typed config rows', () => {
    expect(toApiFilter(emptyFilters())).toBeUndefined();
    expect(hasFilters({ ...emptyFilters(), config: [{ key: 'lr', value: ' ' }] })).toBe(false);
    expect(
      toApiFilter({
        status: ['finished'],
        userId: '',
        notebook: ' train ',
        tag: '',
        config: [
          { key: 'lr', value: '0.01' },
          { key: '', value: '3' },
        ],
      }),
    ).toEqual({ status: ['finished'], notebook: 'train', config: [{ key: 'lr', value: 0.01 }] });
  });
});
