// /t/[team]/[project] once page.tsx found the project: the runs table (filters, sort and page
// in the URL; the server sorts and pages, so a project with 10,000 runs sends one page; config
// keys and summary metrics as optional columns, runs picked for comparing), metric charts
// (?tab=charts) and the project's reports (?tab=reports).
'use client';
import { keepPreviousData, skipToken, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useParams, usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { ChartsWorkspace } from '@/components/charts/charts-workspace.tsx';
import { ColumnPicker, useConfigColumns, useSummaryColumns } from '@/components/project/column-picker.tsx';
import { ConnectJupyterLab } from '@/components/project/connect-jupyterlab.tsx';
import { ReportsPanel } from '@/components/project/reports-panel.tsx';
import { RunFiltersBar } from '@/components/project/run-filters.tsx';
import { RunsPagination } from '@/components/project/runs-pagination.tsx';
import { RunsTable } from '@/components/project/runs-table.tsx';
import { ErrorBox, Loading } from '@/components/query-state.tsx';
import { MAX_CHART_RUNS } from '@/lib/charts/selection.ts';
import { rememberProject } from '@/lib/landing.ts';
import { emptyFilters, filtersFromQuery, filtersToQuery, hasFilters, type RunFilters, toApiFilter } from '@/lib/run-filters.ts';
import { pageCount, pagingFromQuery, pagingToQuery, type RunPaging, toApiPage, withoutPage } from '@/lib/run-paging.ts';
import { useTRPC } from '@/lib/trpc.ts';
import '@/components/project/runs-table.css';

type Tab = 'runs' | 'charts' | 'reports';
const TABS: readonly Tab[] = ['runs', 'charts', 'reports'];

/** Values seen so far: filtered lists only name what they contain, but the pickers need all. */
function useSeen(values: readonly string[] | undefined): string[] {
  const [seen, setSeen] = useState<string[]>([]);
  useEffect(() => {
    if (!values?.length) return;
    setSeen((prev) => {
      const next = [...new Set([...prev, ...values])].sort((a, b) => a.localeCompare(b));
      return next.length === prev.length ? prev : next;
    });
  }, [values]);
  return seen;
}

export function ProjectView() {
  const { team, project } = useParams<{ team: string; project: string }>();
  const router = useRouter();
  const pathname = usePathname();
  const searchParams = useSearchParams();
  const query = searchParams.toString();
  const tab: Tab = TABS.find((t) => t === searchParams.get('tab')) ?? 'runs';
  const filters = useMemo(() => filtersFromQuery(new URLSearchParams(query)), [query]);
  const apiFilter = useMemo(() => toApiFilter(filters), [filters]);
  const paging = useMemo(() => pagingFromQuery(new URLSearchParams(query)), [query]);
  const trpc = useTRPC();
  const info = useQuery(trpc.projects.byPath.queryOptions({ team, project }));
  const projectId = info.data?.project.id;
  const members = useQuery(trpc.teams.members.queryOptions(info.data ? { teamId: info.data.team.id } : skipToken));
  // New runs and live ones keep arriving from JupyterLab.
  const runs = useQuery({
    ...trpc.runs.list.queryOptions(projectId ? { projectId, ...(apiFilter ? { filter: apiFilter } : {}), ...toApiPage(paging) } : skipToken),
    refetchInterval: 10_000,
    placeholderData: keepPreviousData,
  });
  const [columns, setColumns] = useConfigColumns(projectId);
  const [summaryColumns, setSummaryColumns] = useSummaryColumns(projectId);
  const configKeys = useSeen(runs.data?.configKeys);
  // every metric key of the project (runs.list reads them from metric_keys, not from the page)
  const summaryKeys = useSeen(runs.data?.summaryKeys);
  // picks survive paging (compare runs from several pages); a new filter starts afresh
  const [picked, setPicked] = useState<ReadonlySet<string>>(new Set());
  const filterKey = JSON.stringify(apiFilter ?? null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new filter, compared by value, clears the picks: filterKey is the trigger, not an input
  useEffect(() => setPicked(new Set()), [filterKey]);
  const pickedIds = useMemo(() => [...picked], [picked]);
  const tagList = useMemo(() => [...new Set(runs.data?.runs.flatMap((r) => r.tags) ?? [])], [runs.data]);
  const tags = useSeen(tagList);

  const setFilters = useCallback(
    (next: RunFilters) => {
      // other filters, other pages: back to the first
      const q = filtersToQuery(next, withoutPage(new URLSearchParams(query))).toString();
      router.replace(q ? `${pathname}?${q}` : pathname, { scroll: false });
    },
    [router, pathname, query],
  );
  const setPaging = useCallback(
    (next: RunPaging) => {
      const q = pagingToQuery(next, new URLSearchParams(query)).toString();
      router.replace(q ? `${pathname}?${q}` : pathname, { scroll: false });
    },
    [router, pathname, query],
  );
  // a page past the end (runs deleted, a shorter filter result, an old link): the last page
  const total = runs.data?.total;
  useEffect(() => {
    if (total !== undefined && !runs.isPlaceholderData && paging.page > pageCount(total, paging.size))
      setPaging({ ...paging, page: pageCount(total, paging.size) });
  }, [total, runs.isPlaceholderData, paging, setPaging]);
  // the next sign-in in this browser lands here
  const openedTeam = info.data?.team.slug;
  const openedProject = info.data?.project.slug;
  useEffect(() => {
    if (openedTeam && openedProject) rememberProject({ team: openedTeam, project: openedProject });
  }, [openedTeam, openedProject]);
  const tagHref = useCallback(
    (tag: string) => `${pathname}?${filtersToQuery({ ...filters, tag }, withoutPage(new URLSearchParams(query)))}`,
    [pathname, filters, query],
  );

  if (info.isPending) return <Loading />;
  if (info.isError) return <ErrorBox error={info.error} />;
  const base = `/t/${team}/${project}`;
  const canWrite = info.data.permissions.write;
  const select = (next: Tab) => router.replace(next === 'runs' ? pathname : `${pathname}?tab=${next}`, { scroll: false });
  const filtering = hasFilters(filters);
  const users = (members.data ?? []).map((m) => ({ id: m.userId, name: m.name }));

  return (
    <>
      <div className="page-head">
        <div>
          <h1>{info.data.project.name}</h1>
          <p className="sub">
            {info.data.project.description || (
              <>
                <code className="inline">{`${info.data.team.slug}/${info.data.project.slug}`}</code> in {info.data.team.name}
              </>
            )}
          </p>
        </div>
      </div>
      <div className="tabs" role="tablist">
        <button type="button" role="tab" className="tab" aria-selected={tab === 'runs'} onClick={() => select('runs')} data-testid="tab-runs">
          Runs{runs.data ? <span className="count">{runs.data.total.toLocaleString('en')}</span> : null}
        </button>
        <button type="button" role="tab" className="tab" aria-selected={tab === 'charts'} onClick={() => select('charts')} data-testid="tab-charts">
          Charts
        </button>
        <button type="button" role="tab" className="tab" aria-selected={tab === 'reports'} onClick={() => select('reports')} data-testid="tab-reports">
          Reports
        </button>
      </div>
      {tab === 'runs' ? (
        <div role="tabpanel">
          {runs.data && (runs.data.total || filtering) ? (
            <div className="table-tools">
              <RunFiltersBar filters={filters} onChange={setFilters} options={{ users, configKeys, tags }} />
              <CompareButton base={base} ids={pickedIds} />
              <ColumnPicker
                keys={configKeys}
                selected={columns}
                onChange={setColumns}
                summaryKeys={summaryKeys}
                summarySelected={summaryColumns}
                onSummaryChange={setSummaryColumns}
              />
            </div>
          ) : null}
          {runs.isPending ? <Loading /> : null}
          {runs.isError ? <ErrorBox error={runs.error} /> : null}
          {runs.data?.total === 0 && !filtering ? <ConnectJupyterLab projectPath={`${info.data.team.slug}/${info.data.project.slug}`} /> : null}
          {runs.data?.total === 0 && filtering ? (
            <div className="card empty" data-testid="no-matching-runs">
              <p className="muted">No runs match these filters.</p>
              <button type="button" className="btn btn-sm" onClick={() => setFilters(emptyFilters())}>
                Clear filters
              </button>
            </div>
          ) : null}
          {runs.data?.runs.length ? (
            <div className={runs.isPlaceholderData ? 'stale' : undefined}>
              <RunsTable
                runs={runs.data.runs}
                base={base}
                sort={paging.sort}
                onSortChange={(sort) => setPaging({ ...paging, sort, page: 1 })}
                configKeys={columns}
                summaryColumns={summaryColumns}
                tagHref={tagHref}
                selected={picked}
                onSelectedChange={setPicked}
              />
              <RunsPagination paging={paging} shown={runs.data.runs.length} total={runs.data.total} onChange={setPaging} picked={picked.size} />
            </div>
          ) : null}
        </div>
      ) : tab === 'charts' ? (
        <div role="tabpanel">
          <ChartsWorkspace projectId={info.data.project.id} />
        </div>
      ) : (
        <div role="tabpanel">
          <ReportsPanel projectId={info.data.project.id} base={base} canWrite={canWrite} />
        </div>
      )}
    </>
  );
}

/** Opens the compare page for the picked runs (two or more, at most as many as a chart takes). */
function CompareButton({ base, ids }: { base: string; ids: string[] }) {
  const tooMany = ids.length > MAX_CHART_RUNS;
  const title = ids.length < 2 ? 'Tick two or more runs to compare them' : tooMany ? `At most ${MAX_CHART_RUNS} runs` : `Compare ${ids.length} runs`;
  if (ids.length < 2 || tooMany) {
    return (
      <button type="button" className="btn btn-sm" disabled title={title} data-testid="compare-button">
        Compare{ids.length ? ` (${ids.length})` : ''}
      </button>
    );
  }
  return (
    <Link className="btn btn-sm btn-primary" href={`${base}/compare?runs=${ids.join(',')}`} title={title} data-testid="compare-button">
      Compare ({ids.length})
    </Link>
  );
}
