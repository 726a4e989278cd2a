// Unit tests for display formatting of durations, terminal output and initials.
import { describe, expect, it } from 'vitest';
import { applyCarriageReturns, formatDuration, initials, joinText, runDurationMs, stripAnsi, terminalText } from './format.ts';

describe('formatDuration', () => {
  it('picks a unit by size', () => {
    expect(formatDuration(840)).toBe('840 ms');
    expect(formatDuration(1250)).toBe('1.25 s');
    expect(formatDuration(42_000)).toBe('42 s');
    expect(formatDuration(184_000)).toBe('3 min 04 s');
    expect(formatDuration(7_500_000)).toBe('2 h 05 min');
    expect(formatDuration(-1)).toBe('—');
  });
});

describe('runDurationMs', () => {
  const startedAt = '2026-11-26T10:00:00.000Z';
  it('measures to the end, to now while running, and is unknown otherwise', () => {
    expect(runDurationMs({ status: 'finished', startedAt, endedAt: '2026-11-26T10:01:00.000Z' }, 0)).toBe(60_000);
    expect(runDurationMs({ status: 'running', startedAt, endedAt: null }, Date.parse(startedAt) + 5000)).toBe(5000);
    expect(runDurationMs({ status: 'crashed', startedAt, endedAt: null }, Date.now())).toBeNull();
  });
});

describe('terminal text', () => {
  it('strips colour and OSC sequences from IPython tracebacks', () => {
    expect(stripAnsi('\u001b[0;31mValueError\u001b[0m: bad')).toBe('ValueError: bad');
    expect(stripAnsi('\u001b[38;5;28;01mraise\u001b[39;00m x')).toBe('raise x');
    expect(stripAnsi('\u001b]8;;http://x\u0007link\u001b]8;;\u0007')).toBe('link');
  });

  it('lets carriage returns overwrite the line like a terminal', () => {
    expect(applyCarriageReturns('10%\r50%\r100%\ndone')).toBe('100%\ndone');
    expect(applyCarriageReturns('abcdef\rXY')).toBe('XYcdef');
    expect(applyCarriageReturns('a\r\nb')).toBe('a\nb');
    expect(terminalText('\u001b[32m1/3\r2/3\r3/3\u001b[0m\n')).toBe('3/3\n');
  });

  it('joins nbformat multi-line strings', () => {
    expect(joinText(['a\n', 'b'])).toBe('a\nb');
    expect(joinText('x')).toBe('x');
    expect(joinText({ nope: 1 })).toBeNull();
  });
});

describe('initials', () => {
  it('takes first and last word', () => {
    expect(initials('Ada Lovelace')).toBe('AL');
    expect(initials('Local user')).toBe('LU');
    expect(initials('Grace Brewster Hopper')).toBe('GH');
    expect(initials('bob')).toBe('BO');
    expect(initials('  ')).toBe('?');
  });
});
