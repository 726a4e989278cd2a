// The chart's hover tooltip, written straight into its DOM node on every cursor move (no React
// render per mouse move). Run names are user text: set as textContent, never as HTML.
import type uPlot from 'uplot';
import { type ChartColumns, formatValue, nearestBucket, valueText } from '@/lib/charts/series-data.ts';
import { formatX, type XAxisMode } from '@/lib/charts/time-axis.ts';

/** More runs than this: the tooltip lists the ones closest to the cursor. */
const MAX_ROWS = 12;

interface TooltipState {
  columns: ChartColumns | null;
  runs: readonly { id: string; name: string; color: string }[];
  hidden: ReadonlySet<string>;
  perPx: number;
  xAxis?: XAxisMode;
}

export function fillTooltip(u: uPlot, tip: HTMLDivElement | null, state: TooltipState) {
  if (!tip) return;
  const { columns, runs, hidden, perPx } = state;
  const xAxis = state.xAxis ?? 'step';
  const idx = u.cursor.idx;
  const left = u.cursor.left ?? -1;
  if (!columns || idx === null || idx === undefined || left < 0 || columns.runs.length !== runs.length) {
    tip.hidden = true;
    return;
  }
  const cursorValue = u.posToVal(u.cursor.top ?? 0, 'y');
  const rows = columns.runs
    .map((run, i) => {
      if (hidden.has(run.runId)) return null;
      const b = nearestBucket(run, idx, 2);
      if (b < 0) return null;
      const value = run.raw[b];
      const lo = run.min[b];
      const hi = run.max[b];
      return {
        run: runs[i]!,
        step: run.lastStep[b],
        value,
        numeric: typeof value === 'number' && Number.isFinite(value) ? value : null,
        spread: (run.count[b] ?? 1) > 1 && typeof lo === 'number' && typeof hi === 'number' && lo !== hi ? `${formatValue(lo)} – ${formatValue(hi)}` : '',
      };
    })
    .filter((r) => r !== null);
  if (!rows.length) {
    tip.hidden = true;
    return;
  }
  const shown =
    rows.length > MAX_ROWS
      ? [...rows].sort((a, b) => Math.abs((a.numeric ?? Infinity) - cursorValue) - Math.abs((b.numeric ?? Infinity) - cursorValue)).slice(0, MAX_ROWS)
      : rows;

  const x = columns.x[idx]!;
  const head = document.createElement('div');
  head.className = 'chart-tip-head';
  // a pixel's buckets may end past the pixel (rollup buckets sit where they start): the range
  // runs to the last step actually shown
  const first = Math.ceil(x);
  const through = Math.max(first, ...shown.map((r) => r.step ?? first));
  if (xAxis === 'step') {
    head.textContent = through > first ? `steps ${first.toLocaleString('en')}–${through.toLocaleString('en')}` : `step ${first.toLocaleString('en')}`;
  } else {
    head.textContent = formatX(x, xAxis);
  }
  const table = document.createElement('table');
  for (const row of shown) {
    const tr = table.insertRow();
    const name = tr.insertCell();
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = row.run.color;
    name.append(swatch, document.createTextNode(row.run.name));
    const value = tr.insertCell();
    value.className = 'num';
    value.textContent = valueText(row.value);
    if (row.numeric === null) value.classList.add('non-finite');
    const extra = tr.insertCell();
    extra.className = 'muted';
    // off the step axis the step is always news; on it only when a pixel spans several
    const showStep = row.step !== undefined && (xAxis !== 'step' || perPx > 1);
    extra.textContent = [row.spread, showStep ? `@${row.step!.toLocaleString('en')}` : ''].filter(Boolean).join('  ');
  }
  const children: Node[] = [head, table];
  if (shown.length < rows.length) {
    const more = document.createElement('div');
    more.className = 'muted';
    more.textContent = `${rows.length - shown.length} more runs`;
    children.push(more);
  }
  tip.replaceChildren(...children);
  tip.hidden = false;

  // beside the cursor, on whichever side of it the window has room; it may reach past the
  // chart's card (it floats above the page) but never past the window
  const overBox = u.over.getBoundingClientRect();
  const tipWidth = tip.offsetWidth;
  const cursorX = overBox.left + left;
  const gap = 16;
  const viewport = document.documentElement.clientWidth;
  const clientLeft = cursorX + gap + tipWidth <= viewport - 8 ? cursorX + gap : Math.max(8, cursorX - gap - tipWidth);
  const parentLeft = (tip.offsetParent ?? u.over).getBoundingClientRect().left;
  tip.style.left = `${clientLeft - parentLeft}px`;
  tip.style.top = `${u.over.offsetTop + 4}px`;
}
