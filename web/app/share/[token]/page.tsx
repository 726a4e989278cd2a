// /share/<token>: a report opened by a view-only link, without an account. The document syncs
// live over /collab/<reportId>?share=<token> (read-only on the server); an unknown, revoked or
// deleted link — or one revoked while the page is open (the socket closes) — says so.
'use client';
import { useQuery } from '@tanstack/react-query';
import { useParams } from 'next/navigation';
import { useEffect, useMemo, useState } from 'react';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { ErrorBox, Loading } from '@/components/query-state.tsx';
import { ReadOnlyDoc, type ReadOnlyPlace } from '@/components/report/read-only-doc.tsx';
import { errorCode } from '@/lib/errors.ts';
import { useTRPC } from '@/lib/trpc.ts';

export default function SharedReportPage() {
  const { token: raw } = useParams<{ token: string }>();
  const token = decodeURIComponent(raw);
  const trpc = useTRPC();
  const shared = useQuery({ ...trpc.reportShares.open.queryOptions({ token }), retry: false });

  if (shared.isPending)
    return (
      <main className="page page-narrow">
        <Loading />
      </main>
    );
  if (shared.isError) {
    const code = errorCode(shared.error);
    if (code === 'UNAUTHORIZED' || code === 'FORBIDDEN' || code === 'NOT_FOUND') return <LinkInvalid deleted={code === 'NOT_FOUND'} />;
    return (
      <main className="page page-narrow">
        <ErrorBox error={shared.error} />
      </main>
    );
  }
  const { report, project, team } = shared.data;
  return (
    <main className="page page-report" data-testid="shared-report">
      <div className="page-head">
        <div>
          <p className="muted small">
            {team.name} / {project.name}
          </p>
          <h1 data-testid="shared-title">{report.title}</h1>
        </div>
        <span className="badge badge-plain" data-testid="read-only">
          Read-only
        </span>
      </div>
      <SharedDoc token={token} reportId={report.id} projectId={project.id} base={`/t/${team.slug}/${project.slug}`} />
    </main>
  );
}

function LinkInvalid({ deleted }: { deleted: boolean }) {
  return (
    <main className="page page-narrow">
      <div className="card card-pad" data-testid="share-invalid">
        <h1>This link is no longer valid</h1>
        <p className="muted">{deleted ? 'The report it pointed to was deleted.' : 'It was revoked, or never existed. Ask whoever shared it for a new one.'}</p>
      </div>
    </main>
  );
}

function SharedDoc({ token, reportId, projectId, base }: { token: string; reportId: string; projectId: string; base: string }) {
  const [doc, setDoc] = useState<Y.Doc | null>(null);
  const [synced, setSynced] = useState(false);
  const [closed, setClosed] = useState<number | null>(null);
  // blocks read their runs and series through the link (only what the report charts)
  const place = useMemo((): ReadOnlyPlace => ({ reportId, projectId, base, share: token }), [reportId, projectId, base, token]);

  useEffect(() => {
    const ydoc = new Y.Doc();
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
    const provider = new WebsocketProvider(`${scheme}://${window.location.host}/collab`, reportId, ydoc, {
      connect: false,
      disableBc: true,
      params: { share: token },
    });
    provider.on('sync', (isSynced: boolean) => {
      if (isSynced) setSynced(true);
    });
    // 4401/4403/4404: the link was revoked (re-checked on live sockets) or the report deleted
    provider.on('closed', ({ code }: { code: number }) => setClosed(code));
    setDoc(ydoc);
    // connect on the next tick: StrictMode's mount–unmount–mount would close a connecting socket
    const start = setTimeout(() => provider.connect(), 0);
    return () => {
      clearTimeout(start);
      provider.destroy();
      ydoc.destroy();
    };
  }, [token, reportId]);

  if (closed !== null) return <LinkInvalid deleted={closed === 4404} />;
  if (!doc || !synced) return <Loading />;
  return (
    <section className="report" data-testid="report-editor" data-editable="false">
      <div className="report-frame">
        <ReadOnlyDoc doc={doc} testId="report-text" place={place} shareToken={token} />
      </div>
    </section>
  );
}
