// Unit tests for chart selections in the URL, default runs and key grouping.
import { describe, expect, it } from 'vitest';
import {
  defaultKeys,
  defaultRuns,
  groupKeys,
  keySections,
  keysByCoverage,
  MAX_CHART_RUNS,
  selectionFromQuery,
  selectionToQuery,
  toggleId,
} from './selection.ts';

describe('selection in the URL', () => {
  it('round-trips runs and keys, including keys with commas, slashes and ampersands', () => {
    const selection = { runs: ['r1', 'r2'], keys: ['train/loss', 'a,b&c=d', 'val/acc@1'] };
    const query = selectionToQuery(selection, new URLSearchParams('tab=charts&status=finished'));
    expect(query.get('tab')).toBe('charts');
    expect(query.get('status')).toBe('finished');
    expect(query.get('runs')).toBe('r1,r2');
    expect(selectionFromQuery(new URLSearchParams(query.toString()))).toEqual(selection);
  });

  it('tells "not chosen" (defaults) from "chosen nothing"', () => {
    expect(selectionFromQuery(new URLSearchParams('tab=charts'))).toEqual({ runs: null, keys: null });
    expect(selectionFromQuery(new URLSearchParams('runs='))).toEqual({ runs: [], keys: null });
    expect(selectionToQuery({ runs: null, keys: null }, new URLSearchParams('runs=a&key=k&x=1')).toString()).toBe('x=1');
  });

  it('drops duplicates and blanks and keeps at most 100 runs', () => {
    const ids = Array.from({ length: 120 }, (_, i) => `r${i}`);
    expect(selectionFromQuery(new URLSearchParams(`runs=a,,b,a&runs=c`)).runs).toEqual(['a', 'b', 'c']);
    expect(selectionFromQuery(new URLSearchParams(`runs=${ids.join(',')}`)).runs).toHaveLength(MAX_CHART_RUNS);
  });
});

describe('run choice', () => {
  it('defaults to the most recent runs', () => {
    const runs = [
      { id: 'old', startedAt: '2024-01-01T00:00:00Z' },
      { id: 'new', startedAt: '2024-03-01T00:00:00Z' },
      { id: 'mid', startedAt: '2024-02-01T00:00:00Z' },
    ];
    expect(defaultRuns(runs, 2)).toEqual(['new', 'mid']);
  });

  it('toggles ids and refuses to pass the limit', () => {
    expect(toggleId(['a', 'b'], 'a')).toEqual(['b']);
    expect(toggleId(['a'], 'b')).toEqual(['a', 'b']);
    expect(toggleId(['a', 'b'], 'c', 2)).toEqual(['a', 'b']);
  });
});

describe('keys', () => {
  it('groups by prefix: train, val, others alphabetically, unprefixed last', () => {
    expect(groupKeys(['loss', 'val/acc', 'sys/gpu', 'train/loss', 'train/lr', 'eval/f1', '/odd'])).toEqual([
      { prefix: 'train', keys: ['train/loss', 'train/lr'] },
      { prefix: 'val', keys: ['val/acc'] },
      { prefix: 'eval', keys: ['eval/f1'] },
      { prefix: 'sys', keys: ['sys/gpu'] },
      { prefix: '', keys: ['loss', '/odd'] },
    ]);
  });

  it("charts the user's own metrics by default, never the system ones", () => {
    // what a quick-start notebook logs: one metric of its own, the sampler's six host keys
    const keys = [
      'system/cpu.process_pct',
      'system/cpu.system_pct',
      'system/disk.read_mbps',
      'system/mem.process_rss_mib',
      'system/net.recv_mbps',
      'system/net.sent_mbps',
      'loss',
    ];
    expect(defaultKeys(keys, 6)).toEqual(['loss']);
    expect(defaultKeys(['system/gpu.0.util', 'val/acc', 'train/loss', 'acc'], 2)).toEqual(['train/loss', 'val/acc']);
    expect(defaultKeys(['system/gpu.0.util'], 6)).toEqual([]);
  });

  it('lists own metrics first, system metrics in a section below', () => {
    expect(keySections(['system/gpu.10.util', 'loss', 'system/cpu.process_pct', 'train/loss', 'system/gpu.2.util', 'systemic/x'])).toEqual({
      own: ['train/loss', 'systemic/x', 'loss'],
      system: ['system/cpu.process_pct', 'system/gpu.2.util', 'system/gpu.10.util'],
    });
  });

  it('orders keys common to every run first', () => {
    expect(
      keysByCoverage([
        ['train/loss', 'val/loss', 'only/a'],
        ['train/loss', 'val/loss'],
        ['train/loss', 'x'],
      ]),
    ).toEqual([
      { key: 'train/loss', runs: 3 },
      { key: 'val/loss', runs: 2 },
      { key: 'only/a', runs: 1 },
      { key: 'x', runs: 1 },
    ]);
  });
});
