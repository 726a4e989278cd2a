// View-only links for a report: create one (its URL is shown once — only a hash is stored),
// copy it, list the report's links and revoke them. Opens /share/<token> without an account.
'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ErrorBox, FormError, Loading } from '@/components/query-state.tsx';
import { useTRPC } from '@/lib/trpc.ts';
import './history.css';

export function shareUrl(origin: string, token: string): string {
  return `${origin}/share/${encodeURIComponent(token)}`;
}

export function ShareDialog({ reportId, onClose }: { reportId: string; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const links = useQuery(trpc.reportShares.list.queryOptions({ reportId }));
  const refresh = () => queryClient.invalidateQueries(trpc.reportShares.list.queryFilter({ reportId }));
  const [url, setUrl] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const create = useMutation(
    trpc.reportShares.create.mutationOptions({
      onSuccess: (share) => {
        setUrl(shareUrl(window.location.origin, share.token));
        setCopied(false);
        void refresh();
      },
    }),
  );
  const revoke = useMutation(trpc.reportShares.revoke.mutationOptions({ onSuccess: () => void refresh() }));

  return (
    <section className="card share-dialog" role="dialog" aria-label="Share report" data-testid="share-dialog">
      <div className="panel-head">
        <strong>Share a view-only link</strong>
        <span style={{ flex: 1 }} />
        <button type="button" className="btn btn-sm" data-testid="share-close" onClick={onClose}>
          Close
        </button>
      </div>
      <div className="panel-body" style={{ display: 'grid', gap: 10 }}>
        <p className="muted small">Anyone with the link sees the report live, read-only, without an account. Revoke it to stop that.</p>
        <div className="row">
          <button
            type="button"
            className="btn btn-primary btn-sm"
            data-testid="share-create"
            disabled={create.isPending}
            onClick={() => create.mutate({ reportId })}
          >
            Create link
          </button>
        </div>
        <FormError error={create.error} />
        {url ? (
          <div className="row">
            <input className="input share-url" readOnly value={url} data-testid="share-url" onFocus={(e) => e.target.select()} />
            <button
              type="button"
              className="btn btn-sm"
              data-testid="share-copy"
              onClick={() => {
                void navigator.clipboard?.writeText(url).then(
                  () => setCopied(true),
                  () => setCopied(false),
                );
              }}
            >
              {copied ? 'Copied' : 'Copy'}
            </button>
          </div>
        ) : null}
        {url ? <p className="muted small">Copy it now: the link is shown only once.</p> : null}
        {links.isPending ? <Loading /> : null}
        {links.isError ? <ErrorBox error={links.error} /> : null}
        <FormError error={revoke.error} />
        {links.data && links.data.length > 0 ? (
          <table className="table small">
            <tbody>
              {links.data.map((l) => (
                <tr key={l.id} data-testid="share-row" data-share-id={l.id} data-revoked={l.revokedAt ? 'true' : 'false'}>
                  <td className="mono">{l.prefix}…</td>
                  <td className="muted">
                    {new Date(l.createdAt).toLocaleString()}
                    {l.createdBy ? ` · ${l.createdBy.name}` : ''}
                  </td>
                  <td>
                    {l.revokedAt ? (
                      <span className="badge badge-plain">Revoked</span>
                    ) : (
                      <button
                        type="button"
                        className="btn btn-sm btn-danger"
                        data-testid="share-revoke"
                        disabled={revoke.isPending}
                        onClick={() => revoke.mutate({ reportId, shareId: l.id })}
                      >
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </div>
    </section>
  );
}
