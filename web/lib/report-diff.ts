// Word-level diff of two versions' plain text, for the History panel's highlights. A longest
// common subsequence over words (whitespace kept as its own tokens so the text reads back
// exactly); reports are a few thousand words, so the O(n·m) table is fine. Common prefix and
// suffix are trimmed first, which makes the usual "a few words changed" case near linear.

import * as Y from 'yjs';

export type DiffPart = { kind: 'same' | 'added' | 'removed'; text: string };

/** Words and the whitespace between them, in order; joining them gives the text back. */
export function tokenize(text: string): string[] {
  return text.match(/\s+|[^\s]+/g) ?? [];
}

/** Parts that turn `before` into `after`: joining same+removed gives before, same+added gives after. */
export function diffWords(before: string, after: string): DiffPart[] {
  const a = tokenize(before);
  const b = tokenize(after);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const parts: DiffPart[] = [];
  const push = (kind: DiffPart['kind'], text: string) => {
    if (!text) return;
    const last = parts[parts.length - 1];
    if (last && last.kind === kind) last.text += text;
    else parts.push({ kind, text });
  };
  push('same', a.slice(0, start).join(''));

  const n = endA - start;
  const m = endB - start;
  // lcs[i][j] = length of the LCS of a[start+i..endA) and b[start+j..endB)
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = a[start + i] === b[start + j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[start + i] === b[start + j]) {
      push('same', a[start + i]!);
      i++;
      j++;
    } else if (j < m && (i === n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) {
      push('added', b[start + j]!);
      j++;
    } else {
      push('removed', a[start + i]!);
      i++;
    }
  }
  push('same', a.slice(endA).join(''));
  return tidy(parts);
}

/**
 * Reads like a person's diff: a lone space between two changes belongs to the change ("First
 * draft." replaced, not "First" and "draft." around a kept space), and each change shows what
 * was removed before what was added.
 */
function tidy(parts: DiffPart[]): DiffPart[] {
  const out: DiffPart[] = [];
  let removed = '';
  let added = '';
  const flush = () => {
    if (removed) out.push({ kind: 'removed', text: removed });
    if (added) out.push({ kind: 'added', text: added });
    removed = added = '';
  };
  parts.forEach((part, k) => {
    const inChange = removed !== '' || added !== '';
    const next = parts[k + 1];
    if (part.kind === 'removed') removed += part.text;
    else if (part.kind === 'added') added += part.text;
    else if (inChange && next && /^\s+$/.test(part.text)) {
      removed += part.text;
      added += part.text;
    } else {
      flush();
      out.push(part);
    }
  });
  flush();
  return out;
}

/** Plain text of a report document (its `prosemirror` fragment): one line per block. */
export function fragmentText(fragment: Y.XmlFragment): string {
  const lines: string[] = [];
  const walk = (node: Y.XmlElement | Y.XmlText | Y.XmlHook, line: string[]): void => {
    if (node instanceof Y.XmlText) line.push((node.toDelta() as { insert: unknown }[]).map((d) => (typeof d.insert === 'string' ? d.insert : '')).join(''));
    else if (node instanceof Y.XmlElement) {
      const children = node.toArray();
      if (children.some((c) => c instanceof Y.XmlText)) {
        const own: string[] = [];
        children.forEach((c) => walk(c, own));
        lines.push(own.join(''));
      } else children.forEach((c) => walk(c, line));
    }
  };
  fragment.toArray().forEach((node) => walk(node, []));
  return lines.join('\n');
}
