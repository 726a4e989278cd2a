// Pure helpers for binding a <textarea> to a Y.Text: the minimal edit between two strings,
// and where a caret goes when someone else's edit lands before it.

export interface TextEdit {
  /** where the change starts (UTF-16 index, the unit Y.Text and textarea both use) */
  index: number;
  /** how many characters of the old text it removes */
  remove: number;
  /** what it inserts */
  insert: string;
}

const isHigh = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLow = (code: number) => code >= 0xdc00 && code <= 0xdfff;

/**
 * The smallest single-range edit turning `before` into `after`. `caret` (where the caret is
 * after the edit) settles ambiguous cases: typing "a" into "a|a" inserts at the caret, not at 0.
 * Never splits a surrogate pair, so an emoji is never half-deleted in the shared document.
 */
export function diffText(before: string, after: string, caret?: number): TextEdit | null {
  if (before === after) return null;
  const maxCommon = Math.min(before.length, after.length);
  // The edit ends at the caret, so the unchanged tail is at most what follows the caret.
  let maxSuffix = maxCommon;
  if (caret !== undefined && caret >= 0 && caret <= after.length) maxSuffix = Math.min(maxSuffix, after.length - caret);
  let suffix = 0;
  while (
    suffix < maxSuffix &&
    before.charCodeAt(before.length - 1 - suffix) === after.charCodeAt(after.length - 1 - suffix)
  ) {
    suffix++;
  }
  let prefix = 0;
  const maxPrefix = maxCommon - suffix;
  while (prefix < maxPrefix && before.charCodeAt(prefix) === after.charCodeAt(prefix)) prefix++;
  if (prefix > 0 && isHigh(before.charCodeAt(prefix - 1))) prefix--;
  if (suffix > 0 && isLow(before.charCodeAt(before.length - suffix))) suffix--;
  return {
    index: prefix,
    remove: before.length - prefix - suffix,
    insert: after.slice(prefix, after.length - suffix),
  };
}

/** A Yjs text delta: retain / insert / delete ops in document order. */
export type TextDelta = Array<{ retain?: number; insert?: unknown; delete?: number }>;

/**
 * Where `position` moves to after `delta` is applied. Like a Yjs relative position, the caret
 * sticks to the character after it: text inserted exactly at the caret pushes it along, so a
 * remote "replace the word before me" keeps the caret before the same next character.
 */
export function transformPosition(position: number, delta: TextDelta): number {
  let oldIndex = 0; // how far into the old text the delta has walked
  let shift = 0;
  for (const op of delta) {
    if (oldIndex > position) break;
    if (op.retain) {
      oldIndex += op.retain;
    } else if (op.insert !== undefined) {
      shift += typeof op.insert === 'string' ? op.insert.length : 1;
    } else if (op.delete) {
      shift -= Math.max(0, Math.min(op.delete, position - oldIndex));
      oldIndex += op.delete;
    }
  }
  return position + shift;
}
