// Word-level diff of two versions' plain text, for the History panel's highlights. jsdiff's
// Myers diff over words (whitespace kept as its own tokens so the text reads back exactly):
// O((n+m)·d) for d changed tokens, so a long report with a few edits diffs in milliseconds. Its
// cost grows with d², so past MAX_EDIT_TOKENS the two versions are shown as one replacement
// rather than spending seconds finding the few words they still share.

import { diffArrays } from 'diff';
import * as Y from 'yjs';

export type DiffPart = { kind: 'same' | 'added' | 'removed'; text: string };

/**
 * Changed tokens (words and spaces) past which a diff is given up: about 2,000 changed words,
 * ~1.2 s at worst on a busy 2-core machine; past that it reads as "all replaced" anyway.
 */
export const MAX_EDIT_TOKENS = 4_000;

/** Words and the whitespace between them, in order; joining them gives the text back. */
export function tokenize(text: string): string[] {
  return text.match(/\s+|[^\s]+/g) ?? [];
}

/** Parts that turn `before` into `after`: joining same+removed gives before, same+added gives after. */
export function diffWords(before: string, after: string): DiffPart[] {
  const changes = diffArrays(tokenize(before), tokenize(after), { maxEditLength: MAX_EDIT_TOKENS });
  const parts: DiffPart[] = changes
    ? changes.map((c) => ({ kind: c.added ? 'added' : c.removed ? 'removed' : 'same', text: c.value.join('') }))
    : [
        { kind: 'removed', text: before },
        { kind: 'added', text: after },
      ];
  return tidy(parts.filter((p) => p.text !== ''));
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
