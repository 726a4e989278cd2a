// Unit tests for the timeline annotations (re-runs, out-of-order) and the notebook-order grouping.
import { describe, expect, it } from 'vitest';
import { annotateExecutions, groupByCell, ordinal, outOfOrderText, rerunText, summarize } from './timeline.ts';

let clock = 0;
const exec = (key: string, cellId: string | null, position: number | null) => ({
  executionKey: key,
  cellId,
  position,
  startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, clock++)).toISOString(),
});

describe('annotateExecutions', () => {
  it('counts re-runs of the same cell', () => {
    const notes = annotateExecutions([exec('a', 'c1', 0), exec('b', 'c3', 2), exec('c', 'c3', 2), exec('d', 'c3', 2)]);
    expect(notes.get('a')!.runNumber).toBe(1);
    expect(rerunText(notes.get('b')!)).toBeNull();
    expect(rerunText(notes.get('c')!)).toBe('re-run of cell 3 (2nd time)');
    expect(rerunText(notes.get('d')!)).toBe('re-run of cell 3 (3rd time)');
    // running one cell again is a re-run, never "out of order"
    expect(outOfOrderText(notes.get('c')!)).toBeNull();
  });

  it('marks a cell that ran after a cell further down', () => {
    const notes = annotateExecutions([exec('a', 'c1', 0), exec('b', 'c5', 4), exec('c', 'c3', 2), exec('d', 'c4', 3)]);
    expect(outOfOrderText(notes.get('b')!)).toBeNull();
    expect(outOfOrderText(notes.get('c')!)).toBe('cell 3 ran after cell 5');
    expect(notes.get('c')!.ranAfter!.executionKey).toBe('b');
    // continuing downwards from there is in order again
    expect(outOfOrderText(notes.get('d')!)).toBeNull();
    expect(summarize(notes)).toEqual({ executions: 4, cells: 4, reruns: 0, outOfOrder: 1 });
  });

  it('uses the last known position for kernel-only records and never guesses order without positions', () => {
    const notes = annotateExecutions([exec('a', 'c2', 1), exec('b', 'c9', 8), exec('c', 'c2', null), exec('d', null, null)]);
    expect(notes.get('c')!.cellLabel).toBe('cell 2');
    expect(rerunText(notes.get('c')!)).toBe('re-run of cell 2 (2nd time)');
    expect(notes.get('c')!.ranAfter).toBeNull();
    // no cell id: every execution is its own cell
    expect(notes.get('d')).toMatchObject({ cellLabel: null, runNumber: 1, ranAfter: null });
  });
});

describe('groupByCell', () => {
  it('orders cells by last known position and keeps each cell’s executions in order', () => {
    const groups = groupByCell([
      exec('a', 'c2', 1),
      exec('b', 'c1', 0),
      exec('c', 'c2', 1),
      exec('d', 'k', null),
      // c3 was moved to the top before its last run
      exec('e', 'c3', 5),
      exec('f', 'c3', 0),
    ]);
    expect(groups.map((g) => [g.cellKey, g.executions.map((e) => e.executionKey)])).toEqual([
      ['cell:c3', ['e', 'f']],
      ['cell:c1', ['b']],
      ['cell:c2', ['a', 'c']],
      ['cell:k', ['d']],
    ]);
    expect(groups[0]!.cellLabel).toBe('cell 1');
  });
});

describe('ordinal', () => {
  it('handles the teens', () => {
    expect([1, 2, 3, 4, 11, 12, 13, 21, 22, 103, 111].map(ordinal)).toEqual([
      '1st',
      '2nd',
      '3rd',
      '4th',
      '11th',
      '12th',
      '13th',
      '21st',
      '22nd',
      '103rd',
      '111th',
    ]);
  });
});
