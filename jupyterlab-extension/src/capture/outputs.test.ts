import { describe, expect, it } from 'vitest';
import { applyCarriageReturns, byteLength, filterMimeBundle, isTextMime, limitText, limitTraceback } from './outputs';

describe('limitText', () => {
  it('leaves text within the cap alone', () => {
    expect(limitText('hello', 5)).toBe('hello');
  });

  it('cuts on a character boundary and says how much was cut', () => {
    const text = 'ééééé'; // 10 bytes of UTF-8
    const cut = limitText(text, 5);
    expect(cut.startsWith('éé')).toBe(true);
    expect(cut).not.toContain('\uFFFD');
    expect(cut).toContain('[… 6 more bytes not recorded by Cellmark]');
  });

  it('caps at 256 KiB by default in the collector', () => {
    expect(byteLength(limitText('x'.repeat(300 * 1024), 256 * 1024))).toBeLessThan(256 * 1024 + 100);
  });
});

describe('isTextMime', () => {
  it.each([
    ['text/plain', true],
    ['text/html', true],
    ['text/markdown', true],
    ['image/svg+xml', true],
    ['application/json', true],
    ['application/vnd.jupyter.widget-view+json', true],
    ['application/javascript', true],
    ['image/png', false],
    ['image/jpeg', false],
    ['application/pdf', false]
  ])('%s → %s', (mime, expected) => {
    expect(isTextMime(mime)).toBe(expected);
  });
});

describe('filterMimeBundle', () => {
  it('notes every omitted type when nothing textual is left', () => {
    expect(filterMimeBundle({ 'image/png': 'AAAA', 'application/pdf': 'BBBB' }, 100)).toEqual({
      'text/plain': '<image/png omitted>\n<application/pdf omitted>'
    });
  });

  it('joins multi-line string arrays and caps each entry', () => {
    const out = filterMimeBundle({ 'text/html': ['<p>', 'x'.repeat(50), '</p>'] }, 10);
    expect(String(out['text/html'])).toMatch(/^<p>xxxxxxx\n\[… 47 more bytes/);
  });

  it('drops JSON payloads over the cap with a size note', () => {
    const out = filterMimeBundle({ 'application/json': { big: 'y'.repeat(100) }, 'text/plain': 'obj' }, 50);
    expect(out).toEqual({ 'text/plain': 'obj' });
  });
});

describe('applyCarriageReturns', () => {
  it('keeps the last overwrite of each line', () => {
    expect(applyCarriageReturns('a 10%\ra 20%\ra 100%\nnext\n')).toBe('a 100%\nnext\n');
  });

  it('overwrites only as many characters as the new text has', () => {
    expect(applyCarriageReturns('abcdef\rXY')).toBe('XYcdef');
  });

  it('keeps a trailing carriage return for the next chunk', () => {
    expect(applyCarriageReturns('50%\r')).toBe('50%\r');
  });

  it('treats \\r\\n as a newline', () => {
    expect(applyCarriageReturns('a\r\nb')).toBe('a\nb');
  });
});

describe('limitTraceback', () => {
  it('keeps whole frames up to the cap and counts the rest', () => {
    expect(limitTraceback(['aaaa', 'bbbb', 'cccc'], 9)).toEqual([
      'aaaa',
      'bbbb',
      '[… 1 more frames, 4 bytes, not recorded by Cellmark]'
    ]);
  });
});
