// Every page under /t/[team]: a team that does not exist answers HTTP 404 (the pages themselves
// are client components and could only show an error after a 200).
import type { ReactNode } from 'react';
import { notFoundIfMissing, serverQuery } from '@/lib/server-api.ts';

export default async function TeamLayout({ children, params }: { children: ReactNode; params: Promise<{ team: string }> }) {
  const { team } = await params;
  notFoundIfMissing(await serverQuery('teams.bySlug', { slug: team }));
  return children;
}
