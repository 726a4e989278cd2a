// /settings/tokens: API tokens for the JupyterLab extension: create (shown once), list, revoke.
'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { ErrorBox, FormError, Loading } from '@/components/query-state.tsx';
import { NewTokenBox } from '@/components/tokens/new-token-box.tsx';
import { TokenTable } from '@/components/tokens/token-table.tsx';
import { useTRPC } from '@/lib/trpc.ts';

export default function TokensPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const tokens = useQuery(trpc.tokens.list.queryOptions());
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  const create = useMutation(
    trpc.tokens.create.mutationOptions({
      onSuccess: (row) => {
        setCreated({ name: row.name, token: row.token });
        return queryClient.invalidateQueries(trpc.tokens.list.queryFilter());
      },
    }),
  );

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formEl = event.currentTarget;
    const name = String(new FormData(formEl).get('name')).trim();
    create.mutate({ name }, { onSuccess: () => formEl.reset() });
  }

  return (
    <main className="page page-narrow">
      <div className="page-head">
        <div>
          <h1>API tokens</h1>
          <p className="sub">Tokens let the JupyterLab extension and the kernel record runs as you. Treat them like passwords.</p>
        </div>
      </div>
      <form className="card card-pad form" onSubmit={onSubmit} data-testid="create-token">
        <div className="form-inline">
          <div className="field" style={{ flex: 1 }}>
            <label htmlFor="token-name">Token name</label>
            <input id="token-name" className="input" name="name" required maxLength={100} placeholder="laptop JupyterLab" />
          </div>
          <button className="btn btn-primary" type="submit" disabled={create.isPending}>
            {create.isPending ? 'Creating…' : 'Create token'}
          </button>
        </div>
        <FormError error={create.error} />
        {created ? <NewTokenBox name={created.name} token={created.token} onDone={() => setCreated(null)} /> : null}
      </form>
      <div className="section">
        <h2 style={{ marginBottom: 10 }}>Your tokens</h2>
        {tokens.isPending ? <Loading /> : null}
        {tokens.isError ? <ErrorBox error={tokens.error} /> : null}
        {tokens.data?.length === 0 ? <p className="muted">No tokens yet.</p> : null}
        {tokens.data?.length ? <TokenTable tokens={tokens.data} /> : null}
      </div>
    </main>
  );
}
