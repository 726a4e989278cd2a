// /t/[team]/[project]: a server component, so that a project that does not exist answers
// HTTP 404 (the not-found page) rather than 200 and a client-side error. The page itself is
// ProjectView, in the browser.
import { notFound } from 'next/navigation';
import { Suspense } from 'react';
import { Loading } from '@/components/query-state.tsx';
import { serverQuery } from '@/lib/server-api.ts';
import { ProjectView } from './project-view.tsx';

export default async function ProjectPage({ params }: { params: Promise<{ team: string; project: string }> }) {
  const { team, project } = await params;
  const found = await serverQuery('projects.byPath', { team, project });
  // no such project, or slugs no project can have; signed out (or the API unreachable): the
  // view asks again in the browser and sends the visitor to sign in (or says what failed)
  if (!found.ok && (found.code === 'NOT_FOUND' || found.code === 'BAD_REQUEST')) notFound();
  return (
    <main className="page">
      <Suspense fallback={<Loading />}>
        <ProjectView />
      </Suspense>
    </main>
  );
}
