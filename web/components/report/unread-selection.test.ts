// @vitest-environment jsdom
// The click fix (unread-selection.ts) drives prosemirror-view's DOM observer, which is internal
// to prosemirror-view: it is why that package is pinned exactly (docs/architecture.md,
// "Dependencies and why"). Without these parts the fix switches itself off silently, so this
// fails first, naming what moved, on an upgrade that takes them away.
import { Schema } from '@tiptap/pm/model';
import { EditorState, TextSelection } from '@tiptap/pm/state';
import { EditorView } from '@tiptap/pm/view';
import { afterEach, describe, expect, it } from 'vitest';
import { observerOf, readDom } from './unread-selection.ts';

const schema = new Schema({
  nodes: {
    doc: { content: 'paragraph+' },
    paragraph: { content: 'text*', toDOM: () => ['p', 0], parseDOM: [{ tag: 'p' }] },
    text: {},
  },
});

let view: EditorView | null = null;
afterEach(() => {
  view?.destroy();
  view = null;
  document.body.replaceChildren();
});

function editor(...lines: string[]) {
  const doc = schema.node(
    'doc',
    null,
    lines.map((line) => schema.node('paragraph', null, line ? [schema.text(line)] : [])),
  );
  view = new EditorView(document.body.appendChild(document.createElement('div')), { state: EditorState.create({ doc }) });
  return view;
}

describe("prosemirror-view's DOM observer, as the click fix uses it", () => {
  it('is on the view with flush, forceFlush, pendingRecords and currentSelection.eq', () => {
    const observer = (editor('one') as unknown as { domObserver?: Record<string, unknown> }).domObserver;
    expect(observer, 'view.domObserver').toBeDefined();
    for (const method of ['flush', 'forceFlush', 'pendingRecords']) expect(typeof observer![method], `domObserver.${method}`).toBe('function');
    expect(typeof (observer!.currentSelection as { eq?: unknown } | undefined)?.eq, 'domObserver.currentSelection.eq').toBe('function');
    expect(observerOf(view!)).not.toBeNull();
  });

  it('reads a selection the page shows and ProseMirror has not read yet', () => {
    const v = editor('first line', 'second line');
    v.focus();
    expect(v.state.selection.from).toBe(1);
    // the browser moved the caret (a click) and no selectionchange has reached ProseMirror
    const text = v.dom.querySelectorAll('p')[1]!.firstChild!;
    document.getSelection()!.collapse(text, 'second'.length);
    readDom(v);
    const second = v.state.doc.child(0).nodeSize + 1;
    expect(v.state.selection).toBeInstanceOf(TextSelection);
    expect(v.state.selection.from).toBe(second + 'second'.length);
  });
});
