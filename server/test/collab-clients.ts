// Report clients for tests: real y-websocket providers (with a cookie or a share token) and
// raw sockets for what a well-behaved client never sends.
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import type * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

export function socketClass(cookie?: string) {
  return class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers: cookie ? { cookie } : {} });
    }
  };
}

const wsBase = (url: string) => url.replace(/^http/, 'ws');

/** A y-websocket client on /collab/<reportId>, signed in by cookie or holding a share token. */
export function provider(server: { url: string }, reportId: string, who: { cookie?: string; share?: string }, track?: WebsocketProvider[]) {
  const doc = new Y.Doc();
  const p = new WebsocketProvider(`${wsBase(server.url)}/collab`, reportId, doc, {
    WebSocketPolyfill: socketClass(who.cookie) as never,
    disableBc: true,
    params: who.share ? { share: who.share } : {},
  });
  track?.push(p);
  return { doc, text: doc.getText('content'), provider: p };
}

/** A raw socket; `closed` resolves with the close code and reason. */
export function rawSocket(server: { url: string }, reportId: string, who: { cookie?: string; share?: string }) {
  const query = who.share !== undefined ? `?share=${encodeURIComponent(who.share)}` : '';
  const ws = new WebSocket(`${wsBase(server.url)}/collab/${reportId}${query}`, { headers: who.cookie ? { cookie: who.cookie } : {} });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return { ws, closed };
}

/** A sync "update" message carrying a forged edit. */
export function forgedUpdate(text = 'vandalism') {
  const forged = new Y.Doc();
  forged.getText('content').insert(0, text);
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, 0);
  syncProtocol.writeUpdate(encoder, Y.encodeStateAsUpdate(forged));
  return encoding.toUint8Array(encoder);
}

/** A sync "update" message carrying `update` as it is. */
export function updateMessage(update: Uint8Array) {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, 0);
  syncProtocol.writeUpdate(encoder, update);
  return encoding.toUint8Array(encoder);
}

/** An awareness message setting `clientId`'s state (any client id: what a forger sends). */
export function awarenessFor(clientId: number, state: unknown, clock = 1) {
  const inner = encoding.createEncoder();
  encoding.writeVarUint(inner, 1);
  encoding.writeVarUint(inner, clientId);
  encoding.writeVarUint(inner, clock);
  encoding.writeVarString(inner, JSON.stringify(state));
  return rawAwareness(encoding.toUint8Array(inner));
}

/** An awareness message around an arbitrary update body. */
export function rawAwareness(update: Uint8Array) {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, 1);
  encoding.writeVarUint8Array(encoder, update);
  return encoding.toUint8Array(encoder);
}

/** The awareness states a provider sees, other than its own. */
export function othersSeen(p: WebsocketProvider) {
  return new Map([...(p.awareness as awarenessProtocol.Awareness).getStates()].filter(([id]) => id !== p.awareness.clientID));
}
