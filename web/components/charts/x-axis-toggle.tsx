// Step / wall time / relative time for a page of charts, kept in the URL (?x=time|relative).
'use client';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useCallback } from 'react';
import { X_AXIS_LABELS, X_AXIS_MODES, type XAxisMode, xAxisFromQuery, xAxisToQuery } from '@/lib/charts/time-axis.ts';
import './charts.css';

const TITLES: Record<XAxisMode, string> = {
  step: 'x = the step each value was logged at',
  time: 'x = wall-clock time the value was logged',
  relative: 'x = time since each run started (runs started at different times overlay from 0)',
};

/** The page's x-axis mode and a setter that writes it to the URL. */
export function useXAxis(): [XAxisMode, (next: XAxisMode) => void] {
  const router = useRouter();
  const pathname = usePathname();
  const query = useSearchParams().toString();
  const mode = xAxisFromQuery(new URLSearchParams(query));
  const set = useCallback(
    (next: XAxisMode) => {
      const q = xAxisToQuery(next, new URLSearchParams(query)).toString();
      router.replace(q ? `${pathname}?${q}` : pathname, { scroll: false });
    },
    [router, pathname, query],
  );
  return [mode, set];
}

export function XAxisToggle({ value, onChange }: { value: XAxisMode; onChange: (next: XAxisMode) => void }) {
  return (
    <div className="segmented x-axis" role="radiogroup" aria-label="x axis" data-testid="x-axis" data-value={value}>
      {X_AXIS_MODES.map((mode) => (
        // biome-ignore lint/a11y/useSemanticElements: the ARIA radio pattern on buttons, a segmented control that native radio inputs cannot be styled into
        <button
          key={mode}
          type="button"
          role="radio"
          aria-checked={mode === value}
          className={mode === value ? 'on' : undefined}
          title={TITLES[mode]}
          onClick={() => onChange(mode)}
          data-testid="x-axis-option"
          data-value={mode}
        >
          {X_AXIS_LABELS[mode]}
        </button>
      ))}
    </div>
  );
}
