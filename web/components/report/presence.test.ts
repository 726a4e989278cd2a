import { describe, expect, it } from 'vitest';
import { NEUTRAL_COLOR, presentUsers } from './presence.ts';

describe('presentUsers', () => {
  it('one entry per user, self first, then by name; malformed states skipped', () => {
    const states: [number, Record<string, unknown>][] = [
      [1, { user: { id: 'b', name: 'Bob', color: '#112233' } }],
      [2, { user: { id: 'a', name: 'Ada', color: '#445566' } }],
      [3, { user: { id: 'b', name: 'Bob', color: '#112233' } }],
      [4, { user: { id: 'z', name: 'Zed', color: 'red; background: url(x)' } }],
      [5, {}],
      [6, { user: { name: 'no id' } }],
    ];
    const users = presentUsers(states, 4);
    expect(users.map((u) => [u.name, u.self, u.tabs])).toEqual([
      ['Zed', true, 1],
      ['Ada', false, 1],
      ['Bob', false, 2],
    ]);
    // a colour that is not a plain hex colour is never used in style
    expect(users[0]!.color).toBe(NEUTRAL_COLOR);
    expect(users[1]!.color).toBe('#445566');
  });
});
