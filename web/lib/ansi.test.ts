// Unit tests for ANSI colour parsing of notebook output.
import { describe, expect, it } from 'vitest';
import { ansiSegments } from './ansi.ts';

describe('ansiSegments', () => {
  it('splits an IPython traceback line into coloured segments', () => {
    expect(ansiSegments('\u001b[0;31mValueError\u001b[0m: bad')).toEqual([{ text: 'ValueError', fg: 'red' }, { text: ': bad' }]);
  });

  it('understands bold, bright, 256 and true colour, and resets', () => {
    expect(ansiSegments('\u001b[1;92mok\u001b[22m plain\u001b[39m')).toEqual([
      { text: 'ok', fg: 'bright-green', bold: true },
      { text: ' plain', fg: 'bright-green' },
    ]);
    expect(ansiSegments('\u001b[38;5;28;01mraise\u001b[39;00m x')).toEqual([{ text: 'raise', fg: 'rgb(0, 135, 0)', bold: true }, { text: ' x' }]);
    expect(ansiSegments('\u001b[48;2;255;0;10mX\u001b[m')).toEqual([{ text: 'X', bg: 'rgb(255, 0, 10)' }]);
  });

  it('drops non-colour escapes and falls back to plain text for progress bars', () => {
    expect(ansiSegments('\u001b]8;;http://x\u0007link\u001b]8;;\u0007 \u001b[2Kdone')).toEqual([{ text: 'link done' }]);
    expect(ansiSegments('\u001b[32m10%\r100%\u001b[0m\n')).toEqual([{ text: '100%\n' }]);
  });

  it('ignores malformed colour parameters', () => {
    expect(ansiSegments('\u001b[38;5;999mx')).toEqual([{ text: 'x' }]);
  });
});
