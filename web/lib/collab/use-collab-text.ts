// Binds a <textarea> to the Y.Text "content" of a report, synced over /collab/<reportId>.
'use client';
import { type RefObject, useEffect, useState } from 'react';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { diffText, type TextDelta, transformPosition } from './text-diff.ts';

export type CollabState =
  | { kind: 'connecting' }
  | { kind: 'syncing' }
  | { kind: 'live' }
  | { kind: 'offline' }
  | { kind: 'closed'; code: number; reason: string };

export interface CollabText {
  state: CollabState;
  /** true once the server's copy has arrived; edits before that would fork the text */
  synced: boolean;
}

const LOCAL = Symbol('textarea');

export function useCollabText(reportId: string, textareaRef: RefObject<HTMLTextAreaElement | null>): CollabText {
  const [state, setState] = useState<CollabState>({ kind: 'connecting' });
  const [synced, setSynced] = useState(false);

  useEffect(() => {
    const el = textareaRef.current;
    if (!el) return;
    setState({ kind: 'connecting' });
    setSynced(false);
    el.value = '';

    const doc = new Y.Doc();
    const ytext = doc.getText('content');
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
    // Not connected yet: React StrictMode mounts, unmounts and remounts at once in dev, and a
    // socket closed while still connecting logs an error. The timer below is cancelled instead.
    const provider = new WebsocketProvider(`${scheme}://${window.location.host}/collab`, reportId, doc, {
      connect: false,
      disableBc: true,
    });
    let closed = false;

    const onInput = () => {
      const edit = diffText(ytext.toString(), el.value, el.selectionEnd);
      if (!edit) return;
      doc.transact(() => {
        if (edit.remove) ytext.delete(edit.index, edit.remove);
        if (edit.insert) ytext.insert(edit.index, edit.insert);
      }, LOCAL);
    };

    const onRemote = (event: Y.YTextEvent, transaction: Y.Transaction) => {
      if (transaction.local) return;
      const delta = event.delta as TextDelta;
      const { selectionStart, selectionEnd, selectionDirection, scrollTop } = el;
      const focused = document.activeElement === el;
      el.value = ytext.toString();
      if (focused) {
        el.setSelectionRange(
          transformPosition(selectionStart, delta),
          transformPosition(selectionEnd, delta),
          selectionDirection ?? undefined,
        );
      }
      el.scrollTop = scrollTop;
    };

    el.addEventListener('input', onInput);
    ytext.observe(onRemote);
    provider.on('status', ({ status }) => {
      if (closed) return;
      if (status === 'connecting') setState({ kind: 'connecting' });
      else if (status === 'connected') setState({ kind: 'syncing' });
      else setState({ kind: 'offline' });
    });
    provider.on('sync', (isSynced: boolean) => {
      if (closed || !isSynced) return;
      if (el.value !== ytext.toString()) el.value = ytext.toString();
      setSynced(true);
      setState({ kind: 'live' });
    });
    // 4401/4403/4404: the server decided; y-websocket stops reconnecting and tells us why.
    provider.on('closed', ({ code, reason }) => {
      closed = true;
      setState({ kind: 'closed', code, reason });
    });

    const start = setTimeout(() => provider.connect(), 0);
    return () => {
      clearTimeout(start);
      el.removeEventListener('input', onInput);
      ytext.unobserve(onRemote);
      provider.destroy();
      doc.destroy();
    };
  }, [reportId, textareaRef]);

  return { state, synced };
}
