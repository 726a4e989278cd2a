// Presence from Yjs awareness: who is on this report now, with the name and colour their
// cursor carries. Pure helpers here; the avatars are in presence-avatars.tsx.

export interface PresenceUser {
  id: string;
  name: string;
  color: string;
}

/** For a state whose colour is not a plain hex colour (the server stamps every user's own). */
export const NEUTRAL_COLOR = '#495057';

/**
 * Everyone in the awareness states, one entry per user (a user with two tabs open is one
 * person), yourself first, then by name. States without a well-formed user are skipped.
 */
export function presentUsers(states: Iterable<[number, Record<string, unknown>]>, selfClientId: number): (PresenceUser & { self: boolean; tabs: number })[] {
  const byId = new Map<string, PresenceUser & { self: boolean; tabs: number }>();
  for (const [clientId, state] of states) {
    const user = state.user as Partial<PresenceUser> | undefined;
    if (!user || typeof user.id !== 'string' || typeof user.name !== 'string') continue;
    const color = typeof user.color === 'string' && /^#[0-9a-f]{6}$/i.test(user.color) ? user.color : NEUTRAL_COLOR;
    const seen = byId.get(user.id);
    if (seen) {
      seen.tabs++;
      seen.self ||= clientId === selfClientId;
    } else byId.set(user.id, { id: user.id, name: user.name.slice(0, 100), color, self: clientId === selfClientId, tabs: 1 });
  }
  return [...byId.values()].sort((a, b) => Number(b.self) - Number(a.self) || a.name.localeCompare(b.name));
}
