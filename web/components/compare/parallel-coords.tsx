// Parallel coordinates of config keys against a summary metric (last axis), hand-rolled SVG:
// at most 100 polylines over a dozen axes, so one path per run is cheap, and no maintained
// lightweight library fits (see web/README.md). Drag along an axis to brush (keep runs inside),
// click the axis to clear its brush. Runs outside every brush are dimmed and listed below.
'use client';
import Link from 'next/link';
import { type PointerEvent as ReactPointerEvent, useEffect, useMemo, useRef, useState } from 'react';
import { useElementWidth } from '@/components/charts/hooks.ts';
import { type Axis, type Brush, brushBetween, buildAxis, matchesBrushes, position, summaryValue, valueAt, varyingKeys } from '@/lib/charts/parallel-coords.ts';
import { formatValue, valueText } from '@/lib/charts/series-data.ts';
import { useDismissMenu } from '@/lib/use-dismiss-menu.ts';
import '@/components/charts/charts.css';
import './compare.css';

export interface PcRun {
  id: string;
  name: string;
  color: string;
  href: string;
  config: Record<string, unknown>;
  summary: Record<string, { last?: unknown; value?: unknown } | undefined>;
}

const HEIGHT = 300;
const PAD = { top: 36, bottom: 18, left: 56, right: 56 };
const METRIC_AXIS = 'metric';

export function ParallelCoords({ runs, metricKeys }: { runs: readonly PcRun[]; metricKeys: readonly string[] }) {
  const boxRef = useRef<HTMLDivElement>(null);
  const width = useElementWidth(boxRef);
  const scalarKeys = useMemo(
    () =>
      varyingKeys(
        runs.map((r) => r.config),
        50,
      ),
    [runs],
  );
  const [chosenKeys, setChosenKeys] = useState<string[] | null>(null);
  const keys = useMemo(() => chosenKeys ?? scalarKeys.slice(0, 8), [chosenKeys, scalarKeys]);
  const [metric, setMetric] = useState<string>('');
  const metricKey = metricKeys.includes(metric) ? metric : (metricKeys[0] ?? '');
  const [brushes, setBrushes] = useState<Record<string, Brush>>({});

  const axes = useMemo(() => {
    const list: Axis[] = keys.map((key) =>
      buildAxis(
        `config:${key}`,
        key,
        runs.map((r) => r.config[key]),
      ),
    );
    if (metricKey)
      list.push(
        buildAxis(
          METRIC_AXIS,
          metricKey,
          runs.map((r) => summaryValue(r.summary[metricKey])),
        ),
      );
    return list;
  }, [keys, metricKey, runs]);
  // a brush on an axis that changed scale would select something else: drop it
  useEffect(
    () =>
      setBrushes((prev) => {
        const kept = Object.entries(prev).filter(([id]) => axes.some((a) => a.id === id));
        return kept.length === Object.keys(prev).length ? prev : Object.fromEntries(kept);
      }),
    [axes],
  );

  const axisValue = (run: PcRun, axis: Axis) => (axis.id === METRIC_AXIS ? summaryValue(run.summary[metricKey]) : run.config[axis.label]);
  const lines = runs.map((run) => {
    const positions = axes.map((axis) => position(axis, axisValue(run, axis)));
    return {
      run,
      positions,
      match: matchesBrushes(
        positions,
        axes.map((a) => brushes[a.id]),
      ),
    };
  });
  const matching = lines.filter((l) => l.match);

  const plotW = Math.max(0, width - PAD.left - PAD.right);
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const xOf = (i: number) => PAD.left + (axes.length > 1 ? (i * plotW) / (axes.length - 1) : plotW / 2);
  const yOf = (pos: number) => PAD.top + (1 - pos) * plotH;
  const posOf = (clientY: number, svg: SVGSVGElement) => 1 - (clientY - svg.getBoundingClientRect().top - PAD.top) / plotH;

  const drag = useRef<{ axis: string; start: number } | null>(null);
  const onDown = (axis: string) => (e: ReactPointerEvent<SVGRectElement>) => {
    const svg = e.currentTarget.ownerSVGElement!;
    e.currentTarget.setPointerCapture(e.pointerId);
    drag.current = { axis, start: posOf(e.clientY, svg) };
  };
  const onMove = (e: ReactPointerEvent<SVGRectElement>) => {
    const d = drag.current;
    if (!d) return;
    const brush = brushBetween(d.start, posOf(e.clientY, e.currentTarget.ownerSVGElement!));
    if (brush) setBrushes((prev) => ({ ...prev, [d.axis]: brush }));
  };
  const onUp = (e: ReactPointerEvent<SVGRectElement>) => {
    const d = drag.current;
    drag.current = null;
    if (!d) return;
    // a click (no extent) clears this axis's brush
    if (!brushBetween(d.start, posOf(e.clientY, e.currentTarget.ownerSVGElement!))) {
      setBrushes((prev) => Object.fromEntries(Object.entries(prev).filter(([id]) => id !== d.axis)));
    }
  };

  const path = (positions: (number | null)[]) => {
    let d = '';
    let pen = false;
    positions.forEach((p, i) => {
      if (p === null) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${xOf(i).toFixed(1)},${yOf(p).toFixed(1)}`;
      pen = true;
    });
    return d;
  };
  const brushed = Object.keys(brushes).length > 0;

  return (
    <section className="section" data-testid="parallel-coords" aria-labelledby="pc-title" data-matching={matching.length}>
      <div className="section-head">
        <h2 id="pc-title">Config vs. metric</h2>
        <label className="filter">
          <span>Metric</span>
          <select className="select select-sm" value={metricKey} onChange={(e) => setMetric(e.target.value)} data-testid="pc-metric">
            {metricKeys.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <AxisPicker keys={scalarKeys} selected={keys} onChange={setChosenKeys} />
        <span className="spacer" />
        {brushed ? (
          <button type="button" className="btn-link small" onClick={() => setBrushes({})} data-testid="pc-clear">
            Clear brushes
          </button>
        ) : (
          <span className="muted small">Drag along an axis to filter runs</span>
        )}
      </div>
      <div className="card pc-card" ref={boxRef}>
        {axes.length === 0 ? (
          <p className="muted panel-body">No config keys differ between these runs and no metric was logged.</p>
        ) : width > 0 ? (
          <svg width={width} height={HEIGHT} className="pc-svg" role="img" aria-label="Parallel coordinates">
            {/* dimmed runs under the matching ones */}
            {[...lines.filter((l) => !l.match), ...matching].map((l) => (
              <path
                key={l.run.id}
                d={path(l.positions)}
                fill="none"
                stroke={l.match ? l.run.color : '#d4d4d8'}
                strokeOpacity={l.match ? 0.85 : 0.5}
                strokeWidth={l.match ? 1.6 : 1}
                data-testid="pc-line"
                data-run-id={l.run.id}
                data-match={l.match}
              >
                <title>{l.run.name}</title>
              </path>
            ))}
            {axes.map((axis, i) => {
              const x = xOf(i);
              const brush = brushes[axis.id];
              const many = axis.ticks.length > 12;
              return (
                <g key={axis.id} data-testid="pc-axis" data-axis={axis.id} data-kind={axis.kind}>
                  <line x1={x} x2={x} y1={PAD.top} y2={PAD.top + plotH} stroke="#71717a" />
                  <text x={x} y={PAD.top - 20} textAnchor="middle" className={`pc-label${axis.id === METRIC_AXIS ? ' pc-label-metric' : ''}`}>
                    {axis.label.length > 22 ? `${axis.label.slice(0, 21)}…` : axis.label}
                    {axis.kind === 'log' ? <tspan className="pc-kind"> (log)</tspan> : null}
                    <title>{axis.label}</title>
                  </text>
                  {axis.ticks
                    .filter((_, k) => !many || k % Math.ceil(axis.ticks.length / 12) === 0)
                    .map((tick) => (
                      <g key={`${tick.label}:${tick.pos}`}>
                        <line x1={x - 3} x2={x} y1={yOf(tick.pos)} y2={yOf(tick.pos)} stroke="#71717a" />
                        <text x={x - 6} y={yOf(tick.pos) + 3.5} textAnchor="end" className="pc-tick">
                          {tick.label.length > 12 ? `${tick.label.slice(0, 11)}…` : tick.label}
                        </text>
                      </g>
                    ))}
                  {brush ? (
                    <rect
                      x={x - 7}
                      width={14}
                      y={yOf(brush.hi)}
                      height={Math.max(1, yOf(brush.lo) - yOf(brush.hi))}
                      className="pc-brush"
                      data-testid="pc-brush"
                    >
                      <title>{brushLabel(axis, brush)}</title>
                    </rect>
                  ) : null}
                  <rect
                    x={x - 12}
                    width={24}
                    y={PAD.top - 4}
                    height={plotH + 8}
                    fill="transparent"
                    className="pc-hit"
                    onPointerDown={onDown(axis.id)}
                    onPointerMove={onMove}
                    onPointerUp={onUp}
                    data-testid="pc-hit"
                  />
                </g>
              );
            })}
          </svg>
        ) : (
          <div style={{ height: HEIGHT }} />
        )}
      </div>
      <div className="pc-matches" data-testid="pc-matches">
        <div className="muted small">
          {brushed ? `${matching.length} of ${runs.length} runs match` : `${runs.length} runs`}
          {metricKey ? ` · sorted by ${metricKey}` : ''}
        </div>
        <ul className="pc-match-list">
          {[...matching]
            .sort((a, b) => compareMetric(summaryValue(a.run.summary[metricKey]), summaryValue(b.run.summary[metricKey])))
            .map((l) => (
              <li key={l.run.id} data-testid="pc-match" data-run-id={l.run.id}>
                <span className="swatch" style={{ background: l.run.color }} />
                <Link href={l.run.href}>{l.run.name}</Link>
                <span className="mono muted">{metricText(l.run.summary[metricKey])}</span>
              </li>
            ))}
        </ul>
      </div>
    </section>
  );
}

function brushLabel(axis: Axis, brush: Brush): string {
  if (axis.kind === 'category') {
    const n = axis.categories.length;
    return axis.categories
      .filter((_, i) => {
        const p = n === 1 ? 0.5 : i / (n - 1);
        return p >= brush.lo && p <= brush.hi;
      })
      .join(', ');
  }
  return `${formatValue(valueAt(axis, brush.lo))} – ${formatValue(valueAt(axis, brush.hi))}`;
}

const compareMetric = (a: unknown, b: unknown) => {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return typeof a === 'number' ? -1 : typeof b === 'number' ? 1 : 0;
};

function metricText(entry: { last?: unknown; value?: unknown } | undefined): string {
  if (!entry) return '—';
  const v = entry.value !== undefined ? entry.value : entry.last;
  return typeof v === 'number' || typeof v === 'string' || v === null ? valueText(v) : JSON.stringify(v);
}

function AxisPicker({ keys, selected, onChange }: { keys: string[]; selected: string[]; onChange: (keys: string[]) => void }) {
  const ref = useRef<HTMLDetailsElement>(null);
  useDismissMenu(ref);
  const toggle = (key: string) => onChange(selected.includes(key) ? selected.filter((k) => k !== key) : keys.filter((k) => k === key || selected.includes(k)));
  return (
    <details className="picker picker-left" ref={ref} data-testid="pc-axes">
      <summary className="btn btn-sm">Config axes ({selected.length}) ▾</summary>
      {/* biome-ignore lint/a11y/useSemanticElements: a fieldset brings a border, padding and min-inline-size: min-content that break this row's layout */}
      <div className="picker-menu" role="group" aria-label="Config axes">
        <div className="picker-title">Config keys that differ</div>
        {keys.length === 0 ? <p className="muted small">All these runs share one config.</p> : null}
        {keys.map((key) => (
          <label key={key} className="picker-option">
            <input type="checkbox" checked={selected.includes(key)} onChange={() => toggle(key)} value={key} data-testid="pc-axis-option" />
            <span className="mono picker-name">{key}</span>
          </label>
        ))}
      </div>
    </details>
  );
}
