// /t/[team]: the team's projects (admins can create one), its members and (admins) invitation links.
'use client';
import { skipToken, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useParams } from 'next/navigation';
import { ErrorBox, Loading } from '@/components/query-state.tsx';
import { CreateProjectForm } from '@/components/team/create-project-form.tsx';
import { InvitationsCard } from '@/components/team/invitations-card.tsx';
import { MembersCard } from '@/components/team/members-card.tsx';
import { relativeTime } from '@/lib/format.ts';
import { useTRPC } from '@/lib/trpc.ts';

export default function TeamPage() {
  const { team: slug } = useParams<{ team: string }>();
  const trpc = useTRPC();
  const team = useQuery(trpc.teams.bySlug.queryOptions({ slug }));
  const teamId = team.data?.id;
  const projects = useQuery(trpc.projects.list.queryOptions(teamId ? { teamId } : skipToken));

  if (team.isPending)
    return (
      <main className="page">
        <Loading />
      </main>
    );
  if (team.isError)
    return (
      <main className="page">
        <ErrorBox error={team.error} />
      </main>
    );
  const { admin: canAdmin, grantableRoles } = team.data.permissions;

  return (
    <main className="page">
      <div className="page-head">
        <div>
          <h1>{team.data.name}</h1>
          <p className="sub">
            Team <code className="inline">{team.data.slug}</code> · your role: {team.data.role}
          </p>
        </div>
      </div>
      <div className="grid-2">
        <div>
          <section className="card" data-testid="projects">
            <div className="card-pad" style={{ paddingBottom: 8 }}>
              <h2>Projects</h2>
            </div>
            {projects.isPending ? (
              <div className="card-pad">
                <Loading />
              </div>
            ) : null}
            {projects.isError ? (
              <div className="card-pad">
                <ErrorBox error={projects.error} />
              </div>
            ) : null}
            {projects.data?.length === 0 ? (
              <p className="card-pad muted">No projects yet.{canAdmin ? ' Create the first one below.' : ' An admin of this team can create one.'}</p>
            ) : null}
            {projects.data?.length ? (
              <ul className="list">
                {projects.data.map((p) => (
                  <li key={p.id} data-testid="project-row">
                    <div>
                      <Link className="list-link" href={`/t/${slug}/${p.slug}`}>
                        {p.name}
                      </Link>
                      {p.description ? <div className="muted small">{p.description}</div> : null}
                    </div>
                    <span className="muted small" title={new Date(p.createdAt).toLocaleString()}>
                      created {relativeTime(p.createdAt)}
                    </span>
                  </li>
                ))}
              </ul>
            ) : null}
          </section>
          {canAdmin ? (
            <div className="section">
              <CreateProjectForm teamId={team.data.id} teamSlug={slug} />
            </div>
          ) : null}
        </div>
        <div>
          <MembersCard teamId={team.data.id} grantableRoles={grantableRoles} />
          {canAdmin ? <InvitationsCard teamId={team.data.id} grantableRoles={grantableRoles} /> : null}
        </div>
      </div>
    </main>
  );
}
