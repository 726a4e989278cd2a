// Presence (y-protocols awareness) as the server accepts it from a socket: only for the
// awareness client ids that socket claimed first, each state's `user` set from the session
// (never the client's word: a read-only or share-link socket could otherwise pose as anyone),
// size-limited and rate-limited. What the room relays is what passed here.
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { DomainError } from '../domain/errors.ts';

/** One awareness message, all states together (a real one is a few hundred bytes). */
export const MAX_AWARENESS_BYTES = 64 * 1024;
/** One client's state as JSON (a user and a caret: ~300 bytes). */
export const MAX_STATE_BYTES = 4 * 1024;
/** Awareness client ids one socket may speak for (a y-websocket client uses one). */
export const MAX_CLIENT_IDS = 4;
/**
 * Awareness messages per socket: a burst of this many, refilled at this rate. A client sends
 * one per caret move or selection change, and renews every 15 s; past the budget messages are
 * dropped (presence lags, the connection stays).
 */
export const AWARENESS_BURST = 60;
export const AWARENESS_PER_SECOND = 30;

/** `user` as the web reads it (web/components/report/presence.ts: PresenceUser). */
export interface PresenceUser {
  id: string;
  name: string;
  color: string;
}

/** Cursor colours with enough contrast on white for a caret and a name label. */
const PALETTE = ['#d9480f', '#1971c2', '#2b8a3e', '#9c36b5', '#c2255c', '#0c8599', '#e67700', '#5f3dc4', '#364fc7', '#087f5b'];

/** A stable colour per user id (the same on every screen and every visit). */
export function colorFor(id: string): string {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return PALETTE[(h >>> 0) % PALETTE.length]!;
}

export function presenceUser(id: string, name: string): PresenceUser {
  return { id, name: name.slice(0, 100), color: colorFor(id) };
}

/** How a signed-in user appears to co-editors: the server stamps this on their awareness, and
 * `me.get` hands the same to the web for its own caret. */
export function presenceOf(user: { id: string; name: string | null; email: string }): PresenceUser {
  return presenceUser(user.id, user.name || user.email.split('@')[0]!);
}

/** Which awareness client ids belong to whom, in one room. */
export interface ClientIdOwners {
  /** the owner of `clientId`: this socket ('mine'), another ('other'), or nobody yet ('free') */
  ownerOf(clientId: number): 'mine' | 'other' | 'free';
  /** claims a free id for this socket; false once it holds MAX_CLIENT_IDS */
  claim(clientId: number): boolean;
}

/**
 * The awareness update to apply for this socket: the entries for ids it owns (free ones
 * claimed), others' dropped, each non-null state with `user` replaced. null when nothing is
 * left. Throws DomainError (closing the socket 4413/4400) for an oversize or malformed one.
 */
export function acceptAwareness(update: Uint8Array, owners: ClientIdOwners, user: PresenceUser): Uint8Array | null {
  if (update.byteLength > MAX_AWARENESS_BYTES) {
    throw new DomainError('PAYLOAD_TOO_LARGE', `awareness message is ${update.byteLength} bytes, over the limit of ${MAX_AWARENESS_BYTES}`);
  }
  const decoder = decoding.createDecoder(update);
  const count = decoding.readVarUint(decoder);
  const kept: { clientId: number; clock: number; state: string }[] = [];
  for (let i = 0; i < count; i++) {
    const clientId = decoding.readVarUint(decoder);
    const clock = decoding.readVarUint(decoder);
    const json = decoding.readVarString(decoder);
    if (json.length > MAX_STATE_BYTES)
      throw new DomainError('PAYLOAD_TOO_LARGE', `awareness state is ${json.length} bytes, over the limit of ${MAX_STATE_BYTES}`);
    let state: unknown;
    try {
      state = JSON.parse(json);
    } catch {
      throw new DomainError('INVALID_INPUT', 'awareness state is not JSON');
    }
    if (state !== null && (typeof state !== 'object' || Array.isArray(state)))
      throw new DomainError('INVALID_INPUT', 'awareness state must be an object or null');
    const owner = owners.ownerOf(clientId);
    if (owner === 'other' || (owner === 'free' && !owners.claim(clientId))) continue;
    kept.push({ clientId, clock, state: state === null ? 'null' : JSON.stringify({ ...state, user }) });
  }
  if (!kept.length) return null;
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, kept.length);
  for (const entry of kept) {
    encoding.writeVarUint(encoder, entry.clientId);
    encoding.writeVarUint(encoder, entry.clock);
    encoding.writeVarString(encoder, entry.state);
  }
  return encoding.toUint8Array(encoder);
}

/** A token bucket: `take()` is false once the burst is spent faster than it refills. */
export function rateLimiter(burst = AWARENESS_BURST, perSecond = AWARENESS_PER_SECOND, now = () => performance.now()) {
  let tokens = burst;
  let at = now();
  return {
    take(): boolean {
      const t = now();
      tokens = Math.min(burst, tokens + ((t - at) / 1000) * perSecond);
      at = t;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}
