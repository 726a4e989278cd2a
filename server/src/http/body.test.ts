// JsonDepth (the request body's nesting check) against the plain byte loop it replaces.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonDepth } from './body.ts';

/** The plain byte loop JsonDepth must agree with. */
function fitsDepth(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (const ch of text) {
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '[' || ch === '{') {
      if (++depth > max) return false;
    } else if (ch === ']' || ch === '}') depth--;
  }
  return true;
}

describe('JsonDepth', () => {
  it('agrees with a byte loop however the text is cut into chunks', () => {
    const unit = fc.constantFrom('[', ']', '{', '}', '"', '\\', 'a', 'é', 'x'.repeat(40));
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 60 }), fc.integer({ min: 0, max: 2000 }), (text, cut) => {
        const bytes = Buffer.from(text);
        const at = Math.min(cut, bytes.length);
        const depth = new JsonDepth(3);
        let fits = true;
        try {
          depth.feed(bytes.subarray(0, at));
          depth.feed(bytes.subarray(at));
        } catch {
          fits = false;
        }
        return fits === fitsDepth(text, 3);
      }),
      { numRuns: 5000 },
    );
  });

  it('names the byte where 5,000-deep nesting passes the limit', () => {
    expect(() => new JsonDepth(100).feedText('['.repeat(5000))).toThrow('invalid input: JSON nested more than 100 levels deep (at byte 100)');
    expect(() => new JsonDepth(100).feedText(`["${'['.repeat(5000)}"]`)).not.toThrow();
  });
});
