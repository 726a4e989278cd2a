// The signed-in user's menu in the header: who you are, API tokens, sign out.
'use client';
import { useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useRef, useState } from 'react';
import { authClient } from '@/lib/auth-client.ts';
import { initials } from '@/lib/format.ts';
import { useDismissMenu } from '@/lib/use-dismiss-menu.ts';
import './app-shell.css';

export function UserMenu({ user }: { user: { name: string; email: string } }) {
  const ref = useRef<HTMLDetailsElement>(null);
  const router = useRouter();
  const queryClient = useQueryClient();
  const [signingOut, setSigningOut] = useState(false);

  useDismissMenu(ref);

  async function signOut() {
    setSigningOut(true);
    try {
      await authClient().signOut();
    } finally {
      queryClient.clear();
      router.replace('/sign-in');
    }
  }

  return (
    <details className="user-menu" ref={ref} data-testid="user-menu">
      <summary aria-label="User menu">
        <span className="avatar">{initials(user.name || user.email)}</span>
        <span className="small">{user.name}</span>
      </summary>
      <div className="menu" role="menu">
        <div className="menu-info">
          <div>{user.name}</div>
          <div className="muted small">{user.email}</div>
        </div>
        <Link
          href="/settings/tokens"
          role="menuitem"
          onClick={() => {
            if (ref.current) ref.current.open = false;
          }}
        >
          API tokens
        </Link>
        <button type="button" role="menuitem" onClick={signOut} disabled={signingOut} data-testid="sign-out">
          {signingOut ? 'Signing out…' : 'Sign out'}
        </button>
      </div>
    </details>
  );
}
