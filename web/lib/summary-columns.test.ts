// Unit tests for the runs table's summary-metric columns.
import { describe, expect, it } from 'vitest';
import {
  readSummaryColumns,
  summaryColumnId,
  summaryColumnLabel,
  summaryPresets,
  summarySortKey,
  summaryValue,
  writeSummaryColumns,
} from './summary-columns.ts';

describe('summary columns', () => {
  it('reads what earlier versions stored (bare keys = last value) and round-trips aggregates', () => {
    const columns = readSummaryColumns(['train/loss', { key: 'system/gpu.0.util', agg: 'mean' }, { key: 'x', agg: 'bogus' }, 42, 'train/loss']);
    expect(columns).toEqual([
      { key: 'train/loss', agg: 'last' },
      { key: 'system/gpu.0.util', agg: 'mean' },
    ]);
    expect(readSummaryColumns(JSON.parse(JSON.stringify(writeSummaryColumns(columns))))).toEqual(columns);
    expect(readSummaryColumns('nope')).toEqual([]);
  });

  it('keeps a key containing a colon or "max" a plain key', () => {
    expect(readSummaryColumns(['max:loss'])).toEqual([{ key: 'max:loss', agg: 'last' }]);
  });

  it('offers peak GPU memory and mean GPU util for every device, MIG included, first', () => {
    const presets = summaryPresets([
      'train/loss',
      'system/gpu.1.util',
      'system/gpu.0.mem_used_mib',
      'system/gpu.0.util',
      'system/gpu.0.mig1.mem_used_mib',
      'system/mem.process_rss_mib',
      'system/gpu.0.temp_c',
    ]);
    expect(presets.map((p) => [p.agg, p.key])).toEqual([
      ['max', 'system/gpu.0.mem_used_mib'],
      ['max', 'system/gpu.0.mig1.mem_used_mib'],
      ['mean', 'system/gpu.0.util'],
      ['mean', 'system/gpu.1.util'],
      ['max', 'system/mem.process_rss_mib'],
    ]);
    expect(presets[0]!.label).toBe('peak GPU 0 memory (MiB)');
    expect(presets[1]!.label).toBe('peak GPU 0.mig1 memory (MiB)');
    expect(presets[2]!.label).toBe('mean GPU 0 util (%)');
  });

  it('labels other aggregates plainly and names their server sort keys', () => {
    expect(summaryColumnLabel({ key: 'val/acc', agg: 'max' })).toBe('max(val/acc)');
    expect(summaryColumnLabel({ key: 'system/gpu.0.util', agg: 'max' })).toBe('max(system/gpu.0.util)');
    expect(summaryColumnLabel({ key: 'val/acc', agg: 'last' })).toBe('summary.val/acc');
    expect(summarySortKey({ key: 'val/acc', agg: 'last' })).toBe('summary.val/acc');
    expect(summarySortKey({ key: 'val/acc', agg: 'mean' })).toBe('summary-mean.val/acc');
    expect(summarySortKey({ key: 'system/gpu.0.mem_used_mib', agg: 'max' })).toBe('summary-max.system/gpu.0.mem_used_mib');
    expect(summaryColumnId({ key: 'a', agg: 'last' })).toBe('summary:a');
    expect(summaryColumnId({ key: 'a', agg: 'mean' })).toBe('summary-mean:a');
  });

  it('reads the aggregate from the run summary; an explicit summary value wins for last', () => {
    const summary = {
      loss: { last: 0.5, step: 9, min: 0.4, max: 2, mean: 0.9 },
      acc: { last: 0.1, value: 0.99, min: null, max: null, mean: null },
      nan: { last: 'NaN', min: null, max: null },
    };
    expect(summaryValue(summary, { key: 'loss', agg: 'last' })).toBe(0.5);
    expect(summaryValue(summary, { key: 'loss', agg: 'max' })).toBe(2);
    expect(summaryValue(summary, { key: 'loss', agg: 'mean' })).toBe(0.9);
    expect(summaryValue(summary, { key: 'acc', agg: 'last' })).toBe(0.99);
    expect(summaryValue(summary, { key: 'acc', agg: 'max' })).toBeUndefined();
    expect(summaryValue(summary, { key: 'nan', agg: 'last' })).toBe('NaN');
    expect(summaryValue(summary, { key: 'missing', agg: 'last' })).toBeUndefined();
  });
});
