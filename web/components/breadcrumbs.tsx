// Header breadcrumbs (team / project / run or report), named from the cached page queries.
'use client';
import { skipToken, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useParams, usePathname } from 'next/navigation';
import { Fragment } from 'react';
import { useTRPC } from '@/lib/trpc.ts';
import './app-shell.css';

interface Crumb {
  label: string;
  href: string;
}

type Params = { team?: string; project?: string; runId?: string; reportId?: string };

export function Breadcrumbs() {
  const params = useParams<Params>();
  const pathname = usePathname();
  const trpc = useTRPC();
  const { team, project, runId, reportId } = params;

  const teamQuery = useQuery(trpc.teams.bySlug.queryOptions(team ? { slug: team } : skipToken));
  const projectQuery = useQuery(trpc.projects.byPath.queryOptions(team && project ? { team, project } : skipToken));
  const runQuery = useQuery(trpc.runs.get.queryOptions(runId ? { runId } : skipToken));
  const reportQuery = useQuery(trpc.reports.get.queryOptions(reportId ? { reportId } : skipToken));

  const crumbs: Crumb[] = [];
  if (team) crumbs.push({ label: teamQuery.data?.name ?? team, href: `/t/${team}` });
  if (team && project) crumbs.push({ label: projectQuery.data?.project.name ?? project, href: `/t/${team}/${project}` });
  if (team && project && runId) {
    crumbs.push({ label: runQuery.data?.run.name ?? 'Run', href: `/t/${team}/${project}/runs/${runId}` });
  }
  if (team && project && pathname === `/t/${team}/${project}/compare`) crumbs.push({ label: 'Compare', href: `/t/${team}/${project}/compare` });
  if (team && project && reportId) {
    crumbs.push({ label: 'Reports', href: `/t/${team}/${project}?tab=reports` });
    crumbs.push({ label: reportQuery.data?.title ?? 'Report', href: `/t/${team}/${project}/reports/${reportId}` });
  }
  if (pathname === '/settings/tokens') crumbs.push({ label: 'Settings', href: '/settings/tokens' }, { label: 'API tokens', href: '/settings/tokens' });
  if (pathname === '/onboarding') crumbs.push({ label: 'New team', href: '/onboarding' });

  if (!crumbs.length) return <nav className="crumbs" aria-label="Breadcrumbs" />;
  return (
    <nav className="crumbs" aria-label="Breadcrumbs" data-testid="breadcrumbs">
      {crumbs.map((crumb, i) => (
        <Fragment key={crumb.href}>
          <span className="sep">/</span>
          <Link href={crumb.href} aria-current={i === crumbs.length - 1 ? 'page' : undefined}>
            {crumb.label}
          </Link>
        </Fragment>
      ))}
    </nav>
  );
}
