// "Invite people" for team admins and owners: create an invitation link (role, expiry,
// single-use or not), copy it once, list the team's links and revoke them.
'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { ErrorBox, FormError, Loading } from '@/components/query-state.tsx';
import { relativeTime } from '@/lib/format.ts';
import { type Outputs, useTRPC } from '@/lib/trpc.ts';

/** a team role, as the server names them */
type Role = Outputs['teams']['bySlug']['role'];
const EXPIRY_DAYS = [1, 7, 30] as const;

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false; // no clipboard API outside secure contexts: the link is selected instead
  }
}

function NewLinkBox({ url, onDone }: { url: string; onDone: () => void }) {
  const [copied, setCopied] = useState<'yes' | 'select' | null>(null);
  async function copy() {
    if (await copyText(url)) return setCopied('yes');
    const el = document.getElementById('new-invitation-url');
    if (el) window.getSelection()?.selectAllChildren(el);
    setCopied('select');
  }
  return (
    <div className="alert alert-success" data-testid="new-invitation" role="status">
      <strong>Invitation link created.</strong> Copy it now: it will not be shown again.
      <div className="secret-box">
        <code id="new-invitation-url" data-testid="new-invitation-url">
          {url}
        </code>
        <button type="button" className="btn btn-sm" onClick={copy}>
          {copied === 'yes' ? 'Copied' : 'Copy link'}
        </button>
      </div>
      {copied === 'select' ? <div className="small">Selected: press Ctrl+C (⌘C) to copy.</div> : null}
      <button type="button" className="btn-link small" onClick={onDone}>
        Done
      </button>
    </div>
  );
}

function state(link: { revokedAt: Date | string | null; expiresAt: Date | string; maxUses: number | null; useCount: number }) {
  if (link.revokedAt) return 'revoked';
  if (new Date(link.expiresAt) <= new Date()) return 'expired';
  if (link.maxUses !== null && link.useCount >= link.maxUses) return 'used up';
  return 'active';
}

/** `grantableRoles`: the roles the server says this member may give through a link. */
export function InvitationsCard({ teamId, grantableRoles }: { teamId: string; grantableRoles: Role[] }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const links = useQuery(trpc.invitations.list.queryOptions({ teamId }));
  const refresh = () => queryClient.invalidateQueries(trpc.invitations.list.queryFilter({ teamId }));
  const create = useMutation(trpc.invitations.create.mutationOptions({ onSuccess: refresh }));
  const revoke = useMutation(trpc.invitations.revoke.mutationOptions({ onSuccess: refresh }));
  const [created, setCreated] = useState<string | null>(null);

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    create.mutate(
      {
        teamId,
        role: String(form.get('role')) as Role,
        expiresInDays: Number(form.get('expiry')),
        maxUses: form.get('single') ? 1 : null,
      },
      { onSuccess: ({ token }) => setCreated(`${window.location.origin}/invite/${encodeURIComponent(token)}`) },
    );
  }

  return (
    <section className="card section" data-testid="invitations">
      <div className="card-pad" style={{ paddingBottom: 8 }}>
        <h2>Invite people</h2>
        <p className="muted small">Anyone with the link can create an account (or sign in) and join this team with the role you pick.</p>
      </div>
      <form className="card-pad form" onSubmit={onSubmit} aria-label="Create an invitation link">
        <div className="row">
          <div className="field">
            <label htmlFor="invite-role">Role</label>
            <select id="invite-role" className="select" name="role" defaultValue="editor">
              {grantableRoles.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="invite-expiry">Expires after</label>
            <select id="invite-expiry" className="select" name="expiry" defaultValue="7">
              {EXPIRY_DAYS.map((d) => (
                <option key={d} value={d}>
                  {d === 1 ? '1 day' : `${d} days`}
                </option>
              ))}
            </select>
          </div>
        </div>
        <label className="row small" htmlFor="invite-single">
          <input id="invite-single" type="checkbox" name="single" /> Single use (one person)
        </label>
        <div>
          <button className="btn" type="submit" disabled={create.isPending}>
            {create.isPending ? 'Creating…' : 'Create link'}
          </button>
        </div>
        <FormError error={create.error} />
      </form>
      {created ? (
        <div className="card-pad">
          <NewLinkBox url={created} onDone={() => setCreated(null)} />
        </div>
      ) : null}
      {links.isPending ? (
        <div className="card-pad">
          <Loading />
        </div>
      ) : null}
      {links.isError ? (
        <div className="card-pad">
          <ErrorBox error={links.error} />
        </div>
      ) : null}
      {links.data?.length ? (
        <ul className="list" aria-label="Invitation links">
          {links.data.map((link) => {
            const s = state(link);
            return (
              <li key={link.id} data-testid="invitation-row">
                <div>
                  <div>
                    <code className="inline">{link.prefix}…</code> · {link.role}
                  </div>
                  <div className="muted small">
                    {s === 'active' ? `expires ${relativeTime(link.expiresAt)}` : s} · used {link.useCount}
                    {link.maxUses !== null ? ` of ${link.maxUses}` : ''} time{link.useCount === 1 ? '' : 's'}
                    {link.createdBy ? ` · by ${link.createdBy.name}` : ''}
                  </div>
                </div>
                {s === 'active' ? (
                  <button
                    type="button"
                    className="btn btn-sm"
                    disabled={revoke.isPending}
                    aria-label={`Revoke invitation ${link.prefix}… (${link.role})`}
                    onClick={() => revoke.mutate({ teamId, invitationId: link.id })}
                  >
                    Revoke
                  </button>
                ) : (
                  <span className="badge badge-plain badge-neutral">{s}</span>
                )}
              </li>
            );
          })}
        </ul>
      ) : null}
      <div className="card-pad">
        <FormError error={revoke.error} />
      </div>
    </section>
  );
}
