// /onboarding: a signed-in user without a team creates one, with its first project.
'use client';
import { useMutation } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import type { FormEvent } from 'react';
import { Field } from '@/components/field.tsx';
import { FormError } from '@/components/query-state.tsx';
import { useTRPC } from '@/lib/trpc.ts';

export default function OnboardingPage() {
  const router = useRouter();
  const trpc = useTRPC();
  const create = useMutation(
    trpc.setup.createWorkspace.mutationOptions({
      onSuccess: ({ team, project }) => router.push(`/t/${team.slug}/${project.slug}`),
    }),
  );

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    create.mutate({ teamName: String(form.get('teamName')).trim(), projectName: String(form.get('projectName')).trim() });
  }

  return (
    <main className="page page-narrow">
      <div className="page-head">
        <div>
          <h1>Create a team</h1>
          <p className="sub">Runs live in projects, and projects belong to teams. Start with one of each; invite people later.</p>
        </div>
      </div>
      <form className="card card-pad form" onSubmit={onSubmit}>
        <Field label="Team name" name="teamName" required maxLength={100} autoFocus placeholder="Vision lab" />
        <Field label="First project" name="projectName" required maxLength={100} placeholder="Image classifier" />
        <FormError error={create.error} />
        <div>
          <button className="btn btn-primary" type="submit" disabled={create.isPending}>
            {create.isPending ? 'Creating…' : 'Create team and project'}
          </button>
        </div>
      </form>
    </main>
  );
}
