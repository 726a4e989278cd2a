// Under the runs table: which rows are shown of how many, page numbers, previous/next and
// the page size. The page lives in the URL (lib/run-paging.ts) like the filters.
'use client';
import { PAGE_SIZES, pageCount, pageWindow, type RunPaging, rangeText } from '@/lib/run-paging.ts';
import './runs-table.css';

export function RunsPagination({
  paging,
  shown,
  total,
  picked,
  onChange,
}: {
  paging: RunPaging;
  /** rows on this page */
  shown: number;
  total: number;
  /** runs ticked for comparing, on any page */
  picked: number;
  onChange: (next: RunPaging) => void;
}) {
  const pages = pageCount(total, paging.size);
  const go = (page: number) => onChange({ ...paging, page: Math.min(Math.max(1, page), pages) });
  return (
    <nav className="pagination" aria-label="Pages of runs" data-testid="runs-pagination" data-page={paging.page} data-pages={pages} data-total={total}>
      <span className="muted small" data-testid="runs-page-info">
        {rangeText(paging.page, paging.size, shown, total)}
        {picked ? ` · ${picked} ticked` : ''}
      </span>
      <span className="spacer" />
      {pages > 1 ? (
        <span className="pagination-pages">
          <button
            type="button"
            className="btn btn-sm"
            disabled={paging.page <= 1}
            onClick={() => go(paging.page - 1)}
            data-testid="runs-page-prev"
            aria-label="Previous page"
          >
            ‹ Prev
          </button>
          {pageWindow(paging.page, pages).map((p, i) =>
            p === null ? (
              // biome-ignore lint/suspicious/noArrayIndexKey: a gap has no identity but its place between two page numbers
              <span key={`gap${i}`} className="muted" aria-hidden="true">
                …
              </span>
            ) : (
              <button
                key={p}
                type="button"
                className={`btn btn-sm page-number${p === paging.page ? ' on' : ''}`}
                aria-current={p === paging.page ? 'page' : undefined}
                onClick={() => go(p)}
                data-testid="runs-page"
                data-page={p}
              >
                {p.toLocaleString('en')}
              </button>
            ),
          )}
          <button
            type="button"
            className="btn btn-sm"
            disabled={paging.page >= pages}
            onClick={() => go(paging.page + 1)}
            data-testid="runs-page-next"
            aria-label="Next page"
          >
            Next ›
          </button>
        </span>
      ) : null}
      <label className="small muted pagination-size">
        Rows
        <select
          className="select select-sm"
          value={paging.size}
          onChange={(e) => onChange({ ...paging, size: Number(e.target.value), page: 1 })}
          data-testid="runs-page-size"
        >
          {PAGE_SIZES.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </label>
    </nav>
  );
}
