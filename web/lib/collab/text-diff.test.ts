// Unit tests for the textarea ↔ Y.Text diff and caret transform.
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { diffText, transformPosition, type TextDelta } from './text-diff.ts';

function apply(before: string, edit: ReturnType<typeof diffText>): string {
  if (!edit) return before;
  return before.slice(0, edit.index) + edit.insert + before.slice(edit.index + edit.remove);
}

describe('diffText', () => {
  it('returns null for equal strings', () => {
    expect(diffText('abc', 'abc')).toBeNull();
  });

  it('finds a single insertion, deletion and replacement', () => {
    // without a caret, an ambiguous boundary may land either side of a repeated space
    expect(apply('hello world', diffText('hello world', 'hello brave world'))).toBe('hello brave world');
    expect(diffText('hello world', 'hello brave world', 12)).toEqual({ index: 6, remove: 0, insert: 'brave ' });
    expect(diffText('hello brave world', 'hello world', 6)).toEqual({ index: 6, remove: 6, insert: '' });
    expect(diffText('the cat sat', 'the dog sat', 7)).toEqual({ index: 4, remove: 3, insert: 'dog' });
  });

  it('uses the caret to place an ambiguous insertion', () => {
    // "aa" → "aaa" with the caret after the first typed character: insert at 1, not at 2
    expect(diffText('aa', 'aaa', 2)).toEqual({ index: 1, remove: 0, insert: 'a' });
    expect(diffText('aa', 'aaa', 1)).toEqual({ index: 0, remove: 0, insert: 'a' });
    expect(diffText('aa', 'aaa')).toEqual({ index: 0, remove: 0, insert: 'a' });
  });

  it('uses the caret to place an ambiguous deletion', () => {
    // backspace on the first of "xx" leaves the caret at 0
    expect(diffText('xx', 'x', 0)).toEqual({ index: 0, remove: 1, insert: '' });
  });

  it('never splits a surrogate pair', () => {
    // two emoji sharing their high surrogate
    const before = 'a\u{1F600}b';
    const after = 'a\u{1F601}b';
    const edit = diffText(before, after)!;
    expect(edit.remove).toBe(2);
    expect(edit.insert).toBe('\u{1F601}');
    expect(apply(before, edit)).toBe(after);
  });

  it('round-trips random edits', () => {
    const alphabet = 'ab \n\u{1F600}';
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const word = () => Array.from({ length: rand(6) }, () => [...alphabet][rand(5)]).join('');
    for (let i = 0; i < 500; i++) {
      const before = word() + word();
      const after = word() + word();
      expect(apply(before, diffText(before, after))).toBe(after);
      // a wrong caret hint may make the edit larger, never wrong
      expect(apply(before, diffText(before, after, rand(after.length + 1)))).toBe(after);
    }
  });
});

describe('transformPosition', () => {
  it('shifts for inserts at or before the position and deletes before it', () => {
    expect(transformPosition(5, [{ retain: 2 }, { insert: 'xyz' }])).toBe(8);
    expect(transformPosition(5, [{ retain: 5 }, { insert: 'xyz' }])).toBe(8);
    expect(transformPosition(5, [{ retain: 7 }, { insert: 'xyz' }])).toBe(5);
    expect(transformPosition(5, [{ retain: 1 }, { delete: 2 }])).toBe(3);
    // a deletion spanning the position pulls it to the deletion's start
    expect(transformPosition(5, [{ retain: 3 }, { delete: 4 }])).toBe(3);
    expect(transformPosition(0, [{ insert: 'a' }])).toBe(1);
    expect(transformPosition(5, [{ retain: 5 }, { delete: 3 }])).toBe(5);
  });

  it('agrees with a Y.Text observer delta', () => {
    const doc = new Y.Doc();
    const text = doc.getText('content');
    text.insert(0, 'hello world');
    let delta: TextDelta = [];
    text.observe((event) => (delta = event.delta as TextDelta));
    doc.transact(() => {
      text.delete(0, 6);
      text.insert(0, 'oh, ');
    });
    // caret was before "world" (index 6); "world" now starts at 4
    expect(text.toString()).toBe('oh, world');
    expect(transformPosition(6, delta)).toBe(4);
  });
});
