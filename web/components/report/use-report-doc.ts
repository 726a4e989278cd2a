// The report's shared Yjs document, synced over /collab/<reportId> with y-websocket, and the
// connection state the page shows (connecting, syncing, live, offline, or closed with the
// server's code). The editor binds to `doc` once it exists; awareness carries presence.
'use client';
import { useEffect, useState } from 'react';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

export type CollabState =
  | { kind: 'connecting' }
  | { kind: 'syncing' }
  | { kind: 'live' }
  | { kind: 'offline' }
  | { kind: 'closed'; code: number; reason: string };

export interface ReportSession {
  doc: Y.Doc;
  provider: WebsocketProvider;
}

export function useReportDoc(reportId: string): { session: ReportSession | null; state: CollabState; synced: boolean } {
  const [session, setSession] = useState<ReportSession | null>(null);
  const [state, setState] = useState<CollabState>({ kind: 'connecting' });
  const [synced, setSynced] = useState(false);

  useEffect(() => {
    setState({ kind: 'connecting' });
    setSynced(false);
    const doc = new Y.Doc();
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
    // Not connected yet: React StrictMode mounts, unmounts and remounts at once in dev, and a
    // socket closed while still connecting logs an error. The timer below is cancelled instead.
    const provider = new WebsocketProvider(`${scheme}://${window.location.host}/collab`, reportId, doc, {
      connect: false,
      disableBc: true,
    });
    let closed = false;
    let everSynced = false;
    provider.on('status', ({ status }) => {
      if (closed) return;
      // After a drop y-websocket retries (connecting ↔ disconnected): to the reader that is one
      // state, offline, until the server's copy is back.
      if (status === 'connecting') setState(everSynced ? { kind: 'offline' } : { kind: 'connecting' });
      else if (status === 'connected') setState(provider.synced ? { kind: 'live' } : { kind: 'syncing' });
      else setState({ kind: 'offline' });
    });
    provider.on('sync', (isSynced: boolean) => {
      if (closed || !isSynced) return;
      everSynced = true;
      setSynced(true);
      setState({ kind: 'live' });
    });
    // 4401/4403/4404: the server decided; y-websocket stops reconnecting and tells us why.
    provider.on('closed', ({ code, reason }) => {
      closed = true;
      setState({ kind: 'closed', code, reason });
    });
    setSession({ doc, provider });

    const start = setTimeout(() => provider.connect(), 0);
    return () => {
      clearTimeout(start);
      setSession(null);
      provider.destroy();
      doc.destroy();
    };
  }, [reportId]);

  return { session, state, synced };
}
