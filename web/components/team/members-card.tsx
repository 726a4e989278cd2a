// Team members with their roles; admins and owners can add an existing user by email.
'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { FormEvent } from 'react';
import { ErrorBox, FormError, Loading } from '@/components/query-state.tsx';
import { type Outputs, useTRPC } from '@/lib/trpc.ts';

/** a team role, as the server names them */
type Role = Outputs['teams']['bySlug']['role'];

/** `grantableRoles`: what the server says this member may give (none: not an admin). */
export function MembersCard({ teamId, grantableRoles }: { teamId: string; grantableRoles: Role[] }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const members = useQuery(trpc.teams.members.queryOptions({ teamId }));
  const add = useMutation(
    trpc.teams.addMember.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries(trpc.teams.members.queryFilter({ teamId })),
    }),
  );
  const canManage = grantableRoles.length > 0;

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formEl = event.currentTarget;
    const form = new FormData(formEl);
    add.mutate({ teamId, email: String(form.get('email')).trim(), role: String(form.get('role')) as Role }, { onSuccess: () => formEl.reset() });
  }

  return (
    <section className="card" data-testid="members">
      <div className="card-pad" style={{ paddingBottom: 8 }}>
        <h2>Members</h2>
      </div>
      {members.isPending ? (
        <div className="card-pad">
          <Loading />
        </div>
      ) : null}
      {members.isError ? (
        <div className="card-pad">
          <ErrorBox error={members.error} />
        </div>
      ) : null}
      {members.data ? (
        <ul className="list">
          {members.data.map((m) => (
            <li key={m.userId}>
              <div>
                <div>{m.name}</div>
                <div className="muted small">{m.email}</div>
              </div>
              <span className="badge badge-plain badge-neutral">{m.role}</span>
            </li>
          ))}
        </ul>
      ) : null}
      {canManage ? (
        <form className="card-pad form" onSubmit={onSubmit} style={{ borderTop: '1px solid var(--border)' }}>
          <div className="field">
            <label htmlFor="member-email">Add a member by email</label>
            <input id="member-email" className="input" name="email" type="email" required placeholder="colleague@example.com" />
          </div>
          <div className="row">
            <select className="select" name="role" defaultValue="editor" aria-label="Role">
              {grantableRoles.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
            <button className="btn" type="submit" disabled={add.isPending}>
              Add
            </button>
          </div>
          <span className="muted small">They need an account on this server first.</span>
          <FormError error={add.error} />
        </form>
      ) : null}
    </section>
  );
}
