// /setup: first run only. Creates the first account, its team and first project in one form.
'use client';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';
import { AuthCard } from '@/components/auth-card.tsx';
import { AuthForm, fieldText } from '@/components/auth-form.tsx';
import { Field } from '@/components/field.tsx';
import { ErrorBox, Loading } from '@/components/query-state.tsx';
import { signUpAndSignIn } from '@/lib/auth-client.ts';
import { useTRPC } from '@/lib/trpc.ts';

export default function SetupPage() {
  const router = useRouter();
  const trpc = useTRPC();
  const status = useQuery(trpc.setup.status.queryOptions());
  const createWorkspace = useMutation(trpc.setup.createWorkspace.mutationOptions());
  // Once the account exists, a failed workspace step is retried without signing up again.
  const [accountCreated, setAccountCreated] = useState(false);

  const alreadySetUp = status.data && !status.data.needsFirstUser && !accountCreated;
  useEffect(() => {
    if (alreadySetUp) router.replace('/');
  }, [alreadySetUp, router]);

  async function submit(form: FormData) {
    if (!accountCreated) {
      const failure = await signUpAndSignIn({ name: fieldText(form, 'name'), email: fieldText(form, 'email'), password: String(form.get('password')) });
      if (failure) return failure;
      setAccountCreated(true);
    }
    const { team, project } = await createWorkspace.mutateAsync({ teamName: fieldText(form, 'teamName'), projectName: fieldText(form, 'projectName') });
    router.replace(`/t/${team.slug}/${project.slug}`);
  }

  if (status.isPending)
    return (
      <AuthCard title="Welcome to Cellmark">
        <Loading />
      </AuthCard>
    );
  if (status.isError)
    return (
      <AuthCard title="Welcome to Cellmark">
        <ErrorBox error={status.error} />
      </AuthCard>
    );
  if (alreadySetUp)
    return (
      <AuthCard title="Welcome to Cellmark">
        <Loading label="This server is already set up. Redirecting…" />
      </AuthCard>
    );

  return (
    <AuthCard title="Welcome to Cellmark" lead="Set up this server: your account, your team and a first project.">
      <AuthForm
        submit={submit}
        label="Create workspace"
        busyLabel="Setting up…"
        whenFailed={accountCreated ? <div className="alert alert-info">Your account was created; fix the workspace and try again.</div> : null}
        testId="setup-form"
      >
        <fieldset disabled={accountCreated}>
          <legend>Your account</legend>
          <Field label="Your name" name="name" autoComplete="name" required autoFocus maxLength={100} />
          <Field label="Email" name="email" type="email" autoComplete="email" required />
          <Field
            label="Password"
            name="password"
            type="password"
            autoComplete="new-password"
            required={!accountCreated}
            minLength={8}
            hint="At least 8 characters."
          />
        </fieldset>
        <fieldset>
          <legend>Workspace</legend>
          <Field label="Team name" name="teamName" required maxLength={100} placeholder="Vision lab" />
          <Field label="Project name" name="projectName" required maxLength={100} placeholder="Image classifier" />
        </fieldset>
      </AuthForm>
    </AuthCard>
  );
}
