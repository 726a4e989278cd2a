// /t/[team]/[project]: a server component, so that a project that does not exist answers
// HTTP 404 (the not-found page) rather than 200 and a client-side error. The page itself is
// ProjectView, in the browser.
import { Suspense } from 'react';
import { Loading } from '@/components/query-state.tsx';
import { notFoundIfMissing, serverQuery } from '@/lib/server-api.ts';
import { ProjectView } from './project-view.tsx';

export default async function ProjectPage({ params }: { params: Promise<{ team: string; project: string }> }) {
  const { team, project } = await params;
  notFoundIfMissing(await serverQuery('projects.byPath', { team, project }));
  return (
    <main className="page">
      <Suspense fallback={<Loading />}>
        <ProjectView />
      </Suspense>
    </main>
  );
}
