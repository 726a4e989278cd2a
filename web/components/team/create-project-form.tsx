// Inline form on the team page: admins and owners add a project.
'use client';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import type { FormEvent } from 'react';
import { FormError } from '@/components/query-state.tsx';
import { useTRPC } from '@/lib/trpc.ts';

export function CreateProjectForm({ teamId, teamSlug }: { teamId: string; teamSlug: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const create = useMutation(
    trpc.projects.create.mutationOptions({
      onSuccess: async (project) => {
        await queryClient.invalidateQueries(trpc.projects.list.queryFilter({ teamId }));
        router.push(`/t/${teamSlug}/${project.slug}`);
      },
    }),
  );

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const description = String(form.get('description') ?? '').trim();
    create.mutate({ teamId, name: String(form.get('name')).trim(), ...(description ? { description } : {}) });
  }

  return (
    <form className="card card-pad form" onSubmit={onSubmit} data-testid="create-project">
      <h3>New project</h3>
      <div className="field">
        <label htmlFor="project-name">Name</label>
        <input id="project-name" className="input" name="name" required maxLength={100} placeholder="Image classifier" />
      </div>
      <div className="field">
        <label htmlFor="project-description">Description (optional)</label>
        <input id="project-description" className="input" name="description" maxLength={2000} />
      </div>
      <FormError error={create.error} />
      <div>
        <button className="btn btn-primary" type="submit" disabled={create.isPending}>
          {create.isPending ? 'Creating…' : 'Create project'}
        </button>
      </div>
    </form>
  );
}
