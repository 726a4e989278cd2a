// /invite/<token>: an invitation link into a team. Shows the team and role; a new person
// creates an account through it (also where open sign-up is off), someone with an account
// signs in, and a signed-in person joins with one click.
'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useParams, useRouter } from 'next/navigation';
import { useState } from 'react';
import { AuthCard } from '@/components/auth-card.tsx';
import { AuthForm, fieldText } from '@/components/auth-form.tsx';
import { Field } from '@/components/field.tsx';
import { ErrorBox, FormError, Loading } from '@/components/query-state.tsx';
import { signIn, signUpAndSignIn } from '@/lib/auth-client.ts';
import { errorCode, errorMessage } from '@/lib/errors.ts';
import { useTRPC } from '@/lib/trpc.ts';

export default function InvitePage() {
  const { token: raw } = useParams<{ token: string }>();
  const token = decodeURIComponent(raw);
  const trpc = useTRPC();
  const invitation = useQuery({ ...trpc.invitations.open.queryOptions({ token }), retry: false });
  const me = useQuery({ ...trpc.me.get.queryOptions(), retry: false });

  if (invitation.isPending || me.isPending)
    return (
      <AuthCard title="Invitation">
        <Loading />
      </AuthCard>
    );
  if (invitation.isError) {
    const code = errorCode(invitation.error);
    if (code === 'UNAUTHORIZED' || code === 'FORBIDDEN') {
      return (
        <AuthCard title="This invitation link is no longer valid">
          <div className="alert alert-info" role="alert" data-testid="invitation-invalid">
            {errorMessage(invitation.error)}. Ask an admin of the team for a new link.
          </div>
        </AuthCard>
      );
    }
    return (
      <AuthCard title="Invitation">
        <ErrorBox error={invitation.error} />
      </AuthCard>
    );
  }
  const { team, role } = invitation.data;
  const lead = (
    <>
      You are invited to join <strong data-testid="invitation-team">{team.name}</strong> as <strong data-testid="invitation-role">{role}</strong>.
    </>
  );
  return (
    <AuthCard title={`Join ${team.name}`} lead={lead}>
      {me.data ? (
        <JoinAsMe token={token} teamSlug={team.slug} name={me.data.user.name} email={me.data.user.email} />
      ) : (
        <SignUpOrIn token={token} teamSlug={team.slug} />
      )}
    </AuthCard>
  );
}

function JoinAsMe({ token, teamSlug, name, email }: { token: string; teamSlug: string; name: string; email: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const accept = useMutation(
    trpc.invitations.accept.mutationOptions({
      onSuccess: () => {
        queryClient.clear();
        router.replace(`/t/${teamSlug}`);
      },
    }),
  );
  return (
    <div className="form">
      <p className="small">
        Signed in as {name} ({email}).
      </p>
      <button className="btn btn-primary" type="button" disabled={accept.isPending} onClick={() => accept.mutate({ token })}>
        {accept.isPending ? 'Joining…' : 'Join the team'}
      </button>
      <FormError error={accept.error} />
    </div>
  );
}

function SignUpOrIn({ token, teamSlug }: { token: string; teamSlug: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const accept = useMutation(trpc.invitations.accept.mutationOptions());
  const [mode, setMode] = useState<'sign-up' | 'sign-in'>('sign-up');

  async function submit(form: FormData) {
    const email = fieldText(form, 'email');
    const password = String(form.get('password'));
    if (mode === 'sign-up') {
      // the server adds the new account to the team as part of the sign-up
      const failure = await signUpAndSignIn({ name: fieldText(form, 'name'), email, password, invitation: token });
      if (failure) return failure;
    } else {
      const failure = await signIn({ email, password });
      if (failure) return failure;
      await accept.mutateAsync({ token });
    }
    queryClient.clear();
    router.replace(`/t/${teamSlug}`);
  }

  const signUp = mode === 'sign-up';
  return (
    <>
      {/* biome-ignore lint/a11y/useSemanticElements: a fieldset brings a border, padding and min-inline-size: min-content that break this row's layout */}
      <div className="row" role="group" aria-label="Account">
        <button type="button" className={`btn btn-sm${signUp ? ' btn-primary' : ''}`} aria-pressed={signUp} onClick={() => setMode('sign-up')}>
          I am new here
        </button>
        <button type="button" className={`btn btn-sm${signUp ? '' : ' btn-primary'}`} aria-pressed={!signUp} onClick={() => setMode('sign-in')}>
          I have an account
        </button>
      </div>
      <AuthForm submit={submit} label={signUp ? 'Create account and join' : 'Sign in and join'} busyLabel="Joining…" testId="invite-form" key={mode}>
        {signUp ? <Field label="Name" name="name" autoComplete="name" required maxLength={100} /> : null}
        <Field label="Email" name="email" type="email" autoComplete="email" required />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete={signUp ? 'new-password' : 'current-password'}
          required
          minLength={signUp ? 8 : undefined}
          hint={signUp ? 'At least 8 characters.' : undefined}
        />
      </AuthForm>
    </>
  );
}
