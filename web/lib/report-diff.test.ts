import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { diffWords, fragmentText, MAX_EDIT_TOKENS, tokenize } from './report-diff.ts';

const side = (parts: ReturnType<typeof diffWords>, drop: 'added' | 'removed') =>
  parts
    .filter((p) => p.kind !== drop)
    .map((p) => p.text)
    .join('');

describe('diffWords', () => {
  it('keeps whitespace so the text reads back exactly', () => {
    expect(tokenize('a  b\nc')).toEqual(['a', '  ', 'b', '\n', 'c']);
    expect(tokenize('')).toEqual([]);
  });

  it('marks nothing when the texts are equal', () => {
    expect(diffWords('same old text', 'same old text')).toEqual([{ kind: 'same', text: 'same old text' }]);
    expect(diffWords('', '')).toEqual([]);
  });

  it('finds a replaced word between common words', () => {
    expect(diffWords('the loss went down', 'the loss went up')).toEqual([
      { kind: 'same', text: 'the loss went ' },
      { kind: 'removed', text: 'down' },
      { kind: 'added', text: 'up' },
    ]);
  });

  it('marks added and removed runs, each side reconstructing its text', () => {
    const before = 'First draft. Accuracy was 0.81 on the held-out set.';
    const after = 'Final. Accuracy was 0.93 on the held-out set, after tuning.';
    const parts = diffWords(before, after);
    expect(side(parts, 'added')).toBe(before);
    expect(side(parts, 'removed')).toBe(after);
    expect(parts.filter((p) => p.kind === 'removed').map((p) => p.text.trim())).toEqual(['First draft.', '0.81', 'set.']);
    expect(parts.filter((p) => p.kind === 'added').map((p) => p.text.trim())).toEqual(['Final.', '0.93', 'set, after tuning.']);
  });

  it('handles everything added or everything removed', () => {
    expect(diffWords('', 'new words')).toEqual([{ kind: 'added', text: 'new words' }]);
    expect(diffWords('old words', '')).toEqual([{ kind: 'removed', text: 'old words' }]);
  });

  it('finds a few edits spread through a long report (50,000 words: a 2.5-billion-cell table for an O(n·m) diff)', () => {
    const words = Array.from({ length: 50_000 }, (_, k) => `w${k}`);
    const before = words.join(' ');
    const edited = [...words];
    edited[0] = 'Intro';
    edited[25_000] = 'middle';
    edited.splice(49_999, 1, 'end', 'added');
    const after = edited.join(' ');
    const parts = diffWords(before, after);
    expect(side(parts, 'added')).toBe(before);
    expect(side(parts, 'removed')).toBe(after);
    expect(parts.filter((p) => p.kind !== 'same')).toEqual([
      { kind: 'removed', text: 'w0' },
      { kind: 'added', text: 'Intro' },
      { kind: 'removed', text: 'w25000' },
      { kind: 'added', text: 'middle' },
      { kind: 'removed', text: 'w49999' },
      { kind: 'added', text: 'end added' },
    ]);
  });

  it('marks a 1,000-word paste into a long report as one addition', () => {
    const before = Array.from({ length: 20_000 }, (_, k) => `w${k}`).join(' ');
    const pasted = Array.from({ length: 1_000 }, (_, k) => `p${k}`).join(' ');
    const after = before.replace(' w10000 ', ` ${pasted} w10000 `);
    const parts = diffWords(before, after);
    expect(parts.filter((p) => p.kind !== 'same')).toEqual([{ kind: 'added', text: `${pasted} ` }]);
    expect(side(parts, 'removed')).toBe(after);
  });

  it('shows versions that share almost nothing as one replacement past the edit limit', () => {
    const before = Array.from({ length: MAX_EDIT_TOKENS }, (_, k) => `a${k}`).join(' ');
    const after = Array.from({ length: MAX_EDIT_TOKENS }, (_, k) => `b${k}`).join(' ');
    expect(diffWords(before, after)).toEqual([
      { kind: 'removed', text: before },
      { kind: 'added', text: after },
    ]);
  });
});

describe('fragmentText', () => {
  it('gives one line per block, nested blocks included, without formatting', () => {
    const doc = new Y.Doc();
    const fragment = doc.getXmlFragment('prosemirror');
    const heading = new Y.XmlElement('heading');
    heading.insert(0, [new Y.XmlText('Results')]);
    const para = new Y.XmlElement('paragraph');
    const text = new Y.XmlText();
    para.insert(0, [text]);
    const list = new Y.XmlElement('bulletList');
    const item = new Y.XmlElement('listItem');
    const itemPara = new Y.XmlElement('paragraph');
    itemPara.insert(0, [new Y.XmlText('one')]);
    item.insert(0, [itemPara]);
    list.insert(0, [item]);
    fragment.insert(0, [heading, para, list]);
    text.insert(0, 'Loss fell <1% ');
    text.insert(15, 'fast', { bold: true });
    expect(fragmentText(fragment)).toBe('Results\nLoss fell <1% fast\none');
  });
});
