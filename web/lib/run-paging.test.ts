// Unit tests for runs-table paging and sorting ↔ URL query.
import { describe, expect, it } from 'vitest';
import { DEFAULT_PAGE_SIZE, pageCount, pageWindow, pagingFromQuery, pagingToQuery, rangeText, toApiPage, withoutPage } from './run-paging.ts';

describe('runs paging in the URL', () => {
  it('round-trips page, size and sort, keeping filters and the tab', () => {
    const paging = { page: 3, size: 100, sort: { by: 'config.lr', dir: 'asc' as const } };
    const query = pagingToQuery(paging, new URLSearchParams('tag=t&page=9&cfg.lr=1'));
    expect(query.toString()).toBe('tag=t&cfg.lr=1&page=3&size=100&sort=config.lr&dir=asc');
    expect(pagingFromQuery(query)).toEqual(paging);
  });

  it('leaves defaults out and reads bad values as defaults', () => {
    expect(pagingToQuery({ page: 1, size: DEFAULT_PAGE_SIZE, sort: { by: 'startedAt', dir: 'desc' } }).toString()).toBe('');
    expect(pagingFromQuery(new URLSearchParams('page=-2&size=7&dir=sideways'))).toEqual({
      page: 1,
      size: DEFAULT_PAGE_SIZE,
      sort: { by: 'startedAt', dir: 'desc' },
    });
    expect(pagingFromQuery(new URLSearchParams('sort=name&dir=bogus')).sort).toEqual({ by: 'name', dir: 'desc' });
  });

  it('maps a page to limit/offset and drops the page number on demand', () => {
    expect(toApiPage({ page: 4, size: 50, sort: { by: 'name', dir: 'asc' } })).toEqual({ limit: 50, offset: 150, sort: { by: 'name', dir: 'asc' } });
    expect(withoutPage(new URLSearchParams('page=4&tag=x')).toString()).toBe('tag=x');
  });

  it('counts pages and offers a window of page numbers with gaps', () => {
    expect(pageCount(0, 50)).toBe(1);
    expect(pageCount(10_000, 50)).toBe(200);
    expect(pageCount(101, 50)).toBe(3);
    expect(pageWindow(1, 1)).toEqual([1]);
    expect(pageWindow(5, 200)).toEqual([1, 2, 3, 4, 5, 6, 7, null, 200]);
    expect(pageWindow(100, 200)).toEqual([1, null, 98, 99, 100, 101, 102, null, 200]);
    expect(pageWindow(4, 7)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('says which rows are shown', () => {
    expect(rangeText(2, 50, 50, 10_000)).toBe('51–100 of 10,000');
    expect(rangeText(1, 50, 0, 0)).toBe('0 runs');
  });
});
