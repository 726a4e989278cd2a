// "/": sends you where you belong. First-run setup and signing in are decided here, on the
// server, so a signed-out visitor is redirected to /sign-in without the browser first making
// a request that fails with 401 (which it logs to the console); the rest is HomeView.
import { redirect } from 'next/navigation';
import { serverQuery } from '@/lib/server-api.ts';
import { HomeView } from './home-view.tsx';

export default async function HomePage() {
  const status = await serverQuery('setup.status');
  if (status.ok && (status.data as { needsFirstUser: boolean }).needsFirstUser) redirect('/setup');
  const me = await serverQuery('me.get');
  if (!me.ok && me.code === 'UNAUTHORIZED') redirect('/sign-in');
  return <HomeView />;
}
