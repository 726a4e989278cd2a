// The frame of every signed-in page: header with logo, breadcrumbs, tokens link and user menu.
'use client';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import type { ReactNode } from 'react';
import { useTRPC } from '@/lib/trpc.ts';
import { Breadcrumbs } from './breadcrumbs.tsx';
import { Logo } from './logo.tsx';
import { UserMenu } from './user-menu.tsx';
import './app-shell.css';

export function AppShell({ children }: { children: ReactNode }) {
  const trpc = useTRPC();
  // A 401 here sends the browser to /sign-in (see providers.tsx).
  const me = useQuery(trpc.me.get.queryOptions());
  return (
    <>
      <header className="app-header">
        <Logo />
        <Breadcrumbs />
        <div className="header-actions">
          <Link href="/settings/tokens" className="header-link small">
            API tokens
          </Link>
          {me.data ? <UserMenu user={me.data.user} /> : null}
        </div>
      </header>
      {children}
    </>
  );
}
