// A click must not be lost to a view update that arrives before ProseMirror has read it.
// The browser moves its selection at the click, but ProseMirror only reads it on the later
// `selectionchange` event (under load, 100 ms and more later). A view update in between —
// a remote edit, another person's caret moving (carets are decorations, redrawn by a
// transaction, often deferred by y-prosemirror to a timer), the focus transaction — makes
// ProseMirror write the selection it still holds (on a page nobody has clicked in yet, the
// start of the document) back into the focused page: the caret jumps there and typing goes
// there. y-prosemirror also carries that stale selection across a remote edit (it restores
// what the state held when the Yjs transaction began). So ProseMirror reads the page first:
// - before the socket handles any message (its DOM observer's flush: selection and typing,
//   outside any Yjs transaction, so typing read there is sent as the user's own edit);
// - before any other transaction that neither edits nor sets a selection, whose selection
//   then becomes what the user chose.
import { Extension } from '@tiptap/core';
import type { EditorView } from '@tiptap/pm/view';
import type { WebsocketProvider } from 'y-websocket';

/** ProseMirror's DOM observer (internal to prosemirror-view, there since 2017). */
interface DomObserver {
  flush(): void;
  forceFlush(): void;
  pendingRecords(): unknown[];
  currentSelection: { eq(sel: Selection): boolean };
}

export function observerOf(view: EditorView): DomObserver | null {
  const observer = (view as unknown as { domObserver?: Partial<DomObserver> }).domObserver;
  if (view.isDestroyed || !observer) return null;
  const ok =
    ['flush', 'forceFlush', 'pendingRecords'].every((m) => typeof observer[m as keyof DomObserver] === 'function') &&
    typeof observer.currentSelection?.eq === 'function';
  return ok ? (observer as DomObserver) : null;
}

export function readDom(view: EditorView) {
  const observer = observerOf(view);
  if (!observer) return;
  // forceFlush runs a flush that was scheduled for later; flush reads what is pending now
  observer.forceFlush();
  observer.flush();
}

/** Makes `provider` let `view` read the page before handling each message; returns the undo. */
export function readDomBeforeRemoteUpdates(provider: WebsocketProvider, view: EditorView): () => void {
  const handlers = provider.messageHandlers;
  const originals = [...handlers];
  const wrapped = originals.map((handle) =>
    handle
      ? (...args: Parameters<typeof handle>) => {
          readDom(view);
          handle(...args);
        }
      : handle,
  );
  wrapped.forEach((handle, type) => {
    if (handle) handlers[type] = handle;
  });
  return () => {
    originals.forEach((handle, type) => {
      if (handle && handlers[type] === wrapped[type]) handlers[type] = handle;
    });
  };
}

/** The focused page shows a selection ProseMirror has not read, and no typing is pending. */
function unreadSelection(view: EditorView, observer: DomObserver): boolean {
  if (!view.hasFocus() || observer.pendingRecords().length) return false;
  const sel = (view.root as Document).getSelection?.();
  return !!sel?.focusNode && view.dom.contains(sel.focusNode) && !observer.currentSelection.eq(sel);
}

/** The dispatch side: see the file comment. */
export const KeepUnreadSelection = Extension.create({
  name: 'keepUnreadSelection',
  dispatchTransaction({ transaction, next }) {
    const view = this.editor.view;
    const observer = transaction.docChanged || transaction.selectionSet ? null : observerOf(view);
    if (observer && unreadSelection(view, observer)) {
      // ProseMirror reads the page and dispatches that selection (nested, it sets one)
      readDom(view);
      if (view.state.doc === transaction.before) transaction.setSelection(view.state.selection);
    }
    next(transaction);
  },
});
