// "/" once page.tsx found a signed-in user: onboarding without a team, the team with one,
// the list of teams with several (and first-run setup or sign-in if that changed meanwhile).
'use client';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect } from 'react';
import { AppShell } from '@/components/app-shell.tsx';
import { ErrorBox, Loading } from '@/components/query-state.tsx';
import { useTRPC } from '@/lib/trpc.ts';

export function HomeView() {
  const router = useRouter();
  const trpc = useTRPC();
  const status = useQuery(trpc.setup.status.queryOptions());
  const needsFirstUser = status.data?.needsFirstUser;
  // Signed out meanwhile → 401 → /sign-in (providers.tsx)
  const me = useQuery({ ...trpc.me.get.queryOptions(), enabled: needsFirstUser === false });
  const teams = me.data?.teams;

  useEffect(() => {
    if (needsFirstUser) router.replace('/setup');
    else if (teams?.length === 0) router.replace('/onboarding');
    else if (teams?.length === 1) router.replace(`/t/${teams[0]!.slug}`);
  }, [needsFirstUser, teams, router]);

  const error = status.error ?? me.error;
  if (error) {
    return (
      <main className="page page-narrow">
        <ErrorBox error={error} />
      </main>
    );
  }
  if (!teams || teams.length <= 1) {
    return (
      <main className="page page-narrow">
        <Loading />
      </main>
    );
  }
  return (
    <AppShell>
      <main className="page page-narrow">
        <div className="page-head">
          <div>
            <h1>Your teams</h1>
            <p className="sub">Pick a team to see its projects and runs.</p>
          </div>
          <Link className="btn" href="/onboarding">
            New team
          </Link>
        </div>
        <ul className="card list" data-testid="team-list">
          {teams.map((team) => (
            <li key={team.id}>
              <Link className="list-link" href={`/t/${team.slug}`}>
                {team.name}
              </Link>
              <span className="badge badge-plain badge-neutral">{team.role}</span>
            </li>
          ))}
        </ul>
      </main>
    </AppShell>
  );
}
