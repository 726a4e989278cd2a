// /setup: first run only. Creates the first account, its team and first project in one form.
'use client';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { type FormEvent, useEffect, useState } from 'react';
import { AuthCard } from '@/components/auth-card.tsx';
import { Field, FormSubmit } from '@/components/field.tsx';
import { ErrorBox, Loading } from '@/components/query-state.tsx';
import { signUpAndSignIn } from '@/lib/auth-client.ts';
import { errorMessage } from '@/lib/errors.ts';
import { useTRPC } from '@/lib/trpc.ts';

export default function SetupPage() {
  const router = useRouter();
  const trpc = useTRPC();
  const status = useQuery(trpc.setup.status.queryOptions());
  const createWorkspace = useMutation(trpc.setup.createWorkspace.mutationOptions());
  // Once the account exists, a failed workspace step is retried without signing up again.
  const [accountCreated, setAccountCreated] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  const alreadySetUp = status.data && !status.data.needsFirstUser && !accountCreated;
  useEffect(() => {
    if (alreadySetUp) router.replace('/');
  }, [alreadySetUp, router]);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const value = (key: string) => String(form.get(key) ?? '').trim();
    setPending(true);
    setError(null);
    try {
      if (!accountCreated) {
        const failure = await signUpAndSignIn({ name: value('name'), email: value('email'), password: String(form.get('password')) });
        if (failure) {
          setError(failure);
          return;
        }
        setAccountCreated(true);
      }
      const { team, project } = await createWorkspace.mutateAsync({ teamName: value('teamName'), projectName: value('projectName') });
      router.replace(`/t/${team.slug}/${project.slug}`);
    } catch (failure) {
      setError(errorMessage(failure));
    } finally {
      setPending(false);
    }
  }

  if (status.isPending) return <AuthCard title="Welcome to Cellmark"><Loading /></AuthCard>;
  if (status.isError) return <AuthCard title="Welcome to Cellmark"><ErrorBox error={status.error} /></AuthCard>;
  if (alreadySetUp) return <AuthCard title="Welcome to Cellmark"><Loading label="This server is already set up. Redirecting…" /></AuthCard>;

  return (
    <AuthCard title="Welcome to Cellmark" lead="Set up this server: your account, your team and a first project.">
      <form className="form" onSubmit={onSubmit} data-testid="setup-form">
        <fieldset disabled={accountCreated}>
          <legend>Your account</legend>
          <Field label="Your name" name="name" autoComplete="name" required autoFocus maxLength={100} />
          <Field label="Email" name="email" type="email" autoComplete="email" required />
          <Field label="Password" name="password" type="password" autoComplete="new-password" required={!accountCreated} minLength={8} hint="At least 8 characters." />
        </fieldset>
        <fieldset>
          <legend>Workspace</legend>
          <Field label="Team name" name="teamName" required maxLength={100} placeholder="Vision lab" />
          <Field label="Project name" name="projectName" required maxLength={100} placeholder="Image classifier" />
        </fieldset>
        {accountCreated && error ? <div className="alert alert-info">Your account was created; fix the workspace and try again.</div> : null}
        <FormSubmit error={error} pending={pending} label="Create workspace" busyLabel="Setting up…" />
      </form>
    </AuthCard>
  );
}
