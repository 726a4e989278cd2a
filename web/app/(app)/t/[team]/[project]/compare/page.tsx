// /t/[team]/[project]/compare?runs=a,b,c: the chosen runs' metrics overlaid, their config diff
// and config-vs-metric parallel coordinates. The run list lives in the URL.
'use client';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useParams, usePathname, useRouter, useSearchParams } from 'next/navigation';
import { Suspense, useMemo } from 'react';
import { CompareView } from '@/components/compare/compare-view.tsx';
import { ErrorBox, Loading } from '@/components/query-state.tsx';
import { selectionFromQuery, selectionToQuery } from '@/lib/charts/selection.ts';
import { useTRPC } from '@/lib/trpc.ts';

function ComparePageView() {
  const { team, project } = useParams<{ team: string; project: string }>();
  const router = useRouter();
  const pathname = usePathname();
  const query = useSearchParams().toString();
  const runIds = useMemo(() => selectionFromQuery(new URLSearchParams(query)).runs ?? [], [query]);
  const trpc = useTRPC();
  const info = useQuery(trpc.projects.byPath.queryOptions({ team, project }));

  if (info.isPending) return <Loading />;
  if (info.isError) return <ErrorBox error={info.error} />;
  const base = `/t/${team}/${project}`;
  const remove = (id: string) => {
    const q = selectionToQuery({ runs: runIds.filter((r) => r !== id), keys: null }, new URLSearchParams(query)).toString();
    router.replace(`${pathname}?${q}`, { scroll: false });
  };
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Compare runs</h1>
          <p className="sub">
            {runIds.length} runs in <Link href={base}>{info.data.project.name}</Link>
          </p>
        </div>
      </div>
      <CompareView projectId={info.data.project.id} base={base} runIds={runIds} onRemove={remove} />
    </>
  );
}

export default function ComparePage() {
  return (
    <main className="page">
      <Suspense fallback={<Loading />}>
        <ComparePageView />
      </Suspense>
    </main>
  );
}
