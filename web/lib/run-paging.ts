// Runs-table paging and sorting ↔ URL query, next to the filters (run-filters.ts):
//   ?page=3&size=100&sort=config.lr&dir=asc
// runs.list sorts and pages on the server, so the table shows one page of a project that may
// hold many thousand runs. Defaults (page 1, 50 rows, newest first) stay out of the URL.

export const PAGE_SIZES = [25, 50, 100, 200] as const;
export const DEFAULT_PAGE_SIZE = 50;

export interface RunSort {
  /** runs.list sort key: startedAt | name | notebook | status | user | duration | cellCount | config.<key> | summary.<key> */
  by: string;
  dir: 'asc' | 'desc';
}

export interface RunPaging {
  /** 1-based */
  page: number;
  size: number;
  sort: RunSort;
}

export const DEFAULT_SORT: RunSort = { by: 'startedAt', dir: 'desc' };
const OWN_PARAMS = ['page', 'size', 'sort', 'dir'];

export function pagingFromQuery(query: URLSearchParams): RunPaging {
  const page = Number.parseInt(query.get('page') ?? '', 10);
  const size = Number.parseInt(query.get('size') ?? '', 10);
  const by = query.get('sort');
  const dir = query.get('dir');
  return {
    page: Number.isFinite(page) && page >= 1 ? page : 1,
    size: (PAGE_SIZES as readonly number[]).includes(size) ? size : DEFAULT_PAGE_SIZE,
    sort: by ? { by, dir: dir === 'asc' ? 'asc' : 'desc' } : DEFAULT_SORT,
  };
}

/** `base`'s other parameters (filters, the tab) are kept; paging's own are replaced. */
export function pagingToQuery(paging: RunPaging, base: URLSearchParams = new URLSearchParams()): URLSearchParams {
  const query = new URLSearchParams();
  for (const [name, value] of base) if (!OWN_PARAMS.includes(name)) query.append(name, value);
  if (paging.page > 1) query.set('page', String(paging.page));
  if (paging.size !== DEFAULT_PAGE_SIZE) query.set('size', String(paging.size));
  if (paging.sort.by !== DEFAULT_SORT.by || paging.sort.dir !== DEFAULT_SORT.dir) {
    query.set('sort', paging.sort.by);
    query.set('dir', paging.sort.dir);
  }
  return query;
}

/** Drops the page number (a new filter or sort starts at page 1). */
export function withoutPage(query: URLSearchParams): URLSearchParams {
  const next = new URLSearchParams(query);
  next.delete('page');
  return next;
}

export const pageCount = (total: number, size: number) => Math.max(1, Math.ceil(total / size));

/** The runs.list limit/offset for a page. */
export const toApiPage = (paging: RunPaging) => ({ limit: paging.size, offset: (paging.page - 1) * paging.size, sort: paging.sort });

/**
 * Page numbers to offer around the current one: first, last, and a window around `page`,
 * with null for the gaps ("1 … 4 5 6 … 200").
 */
export function pageWindow(page: number, pages: number, radius = 2): (number | null)[] {
  const shown = new Set<number>([1, pages]);
  for (let p = page - radius; p <= page + radius; p++) if (p >= 1 && p <= pages) shown.add(p);
  const sorted = [...shown].sort((a, b) => a - b);
  const out: (number | null)[] = [];
  sorted.forEach((p, i) => {
    if (i > 0 && p - sorted[i - 1]! > 1) out.push(p - sorted[i - 1]! === 2 ? p - 1 : null);
    out.push(p);
  });
  return out;
}

/** "51–100 of 10,000" */
export function rangeText(page: number, size: number, shownRows: number, total: number): string {
  if (!total) return '0 runs';
  const first = (page - 1) * size + 1;
  return `${first.toLocaleString('en')}–${(first + shownRows - 1).toLocaleString('en')} of ${total.toLocaleString('en')}`;
}
