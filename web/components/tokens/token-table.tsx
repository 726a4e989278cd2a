// The user's API tokens with last use and revocation (two-step confirm).
'use client';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { FormError } from '@/components/query-state.tsx';
import { StatusBadge } from '@/components/status-badge.tsx';
import { exactTime, relativeTime } from '@/lib/format.ts';
import { type Outputs, useTRPC } from '@/lib/trpc.ts';

type Token = Outputs['tokens']['list'][number];

function When({ iso }: { iso: string | null }) {
  if (!iso) return <span className="muted">never</span>;
  return <span title={exactTime(iso)}>{relativeTime(iso)}</span>;
}

export function TokenTable({ tokens }: { tokens: Token[] }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState<string | null>(null);
  const revoke = useMutation(
    trpc.tokens.revoke.mutationOptions({
      onSuccess: () => {
        setConfirming(null);
        return queryClient.invalidateQueries(trpc.tokens.list.queryFilter());
      },
    }),
  );

  return (
    <>
      <FormError error={revoke.error} />
      <div className="card table-wrap">
        <table className="table" data-testid="tokens-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Token</th>
              <th>Created</th>
              <th>Last used</th>
              <th>Status</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {tokens.map((t) => (
              <tr key={t.id} data-testid="token-row" data-revoked={t.revokedAt ? 'true' : 'false'}>
                <td>{t.name}</td>
                <td className="mono">{t.prefix}…</td>
                <td>
                  <When iso={t.createdAt} />
                </td>
                <td>
                  <When iso={t.lastUsedAt} />
                </td>
                <td>
                  {t.revokedAt ? (
                    <span title={exactTime(t.revokedAt)}>
                      <StatusBadge status="crashed" label="revoked" />
                    </span>
                  ) : (
                    <StatusBadge status="finished" label="active" />
                  )}
                </td>
                <td className="num">
                  {t.revokedAt ? null : confirming === t.id ? (
                    <span className="row" style={{ justifyContent: 'flex-end' }}>
                      <button
                        type="button"
                        className="btn btn-sm btn-danger"
                        disabled={revoke.isPending}
                        onClick={() => revoke.mutate({ tokenId: t.id })}
                        data-testid="confirm-revoke"
                      >
                        {revoke.isPending ? 'Revoking…' : 'Revoke for good'}
                      </button>
                      <button type="button" className="btn btn-sm" onClick={() => setConfirming(null)}>
                        Cancel
                      </button>
                    </span>
                  ) : (
                    <button type="button" className="btn btn-sm btn-danger" onClick={() => setConfirming(t.id)} data-testid="revoke">
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
