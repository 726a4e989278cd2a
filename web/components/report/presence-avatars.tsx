// "Who is here now": one avatar per person on this report (from Yjs awareness), in the colour
// of their cursor, yourself first.
'use client';
import { useEffect, useState } from 'react';
import type { WebsocketProvider } from 'y-websocket';
import { initials } from '@/lib/format.ts';
import { presentUsers } from './presence.ts';

export function usePresence(provider: WebsocketProvider | null) {
  const [users, setUsers] = useState<ReturnType<typeof presentUsers>>([]);
  useEffect(() => {
    if (!provider) return setUsers([]);
    const awareness = provider.awareness;
    const refresh = () => setUsers(presentUsers(awareness.getStates() as Map<number, Record<string, unknown>>, awareness.clientID));
    refresh();
    awareness.on('change', refresh);
    return () => awareness.off('change', refresh);
  }, [provider]);
  return users;
}

export function PresenceAvatars({ provider }: { provider: WebsocketProvider | null }) {
  const users = usePresence(provider);
  const others = users.filter((u) => !u.self).length;
  return (
    // aria-label needs a role to be read; group is what this is (the people on the report).
    // biome-ignore lint/a11y/useSemanticElements: a fieldset brings a border, padding and min-inline-size: min-content that break this layout
    <div className="presence" data-testid="presence" data-count={users.length} role="group" aria-label={`${users.length} here now`}>
      {users.map((u) => (
        <span
          key={u.id}
          className="presence-avatar"
          style={{ background: u.color }}
          title={`${u.name}${u.self ? ' (you)' : ''}${u.tabs > 1 ? ` — ${u.tabs} tabs` : ''}`}
          data-testid="presence-user"
          data-name={u.name}
          data-self={u.self ? 'true' : 'false'}
        >
          {initials(u.name)}
        </span>
      ))}
      <span className="muted small">{others === 0 ? 'only you here' : `${others} other${others === 1 ? '' : 's'} here`}</span>
    </div>
  );
}
