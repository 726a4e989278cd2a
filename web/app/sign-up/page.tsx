// /sign-up: create an account (signed in at once), then on to a team.
'use client';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter, useSearchParams } from 'next/navigation';
import { Suspense } from 'react';
import { AuthCard } from '@/components/auth-card.tsx';
import { AuthForm, fieldText } from '@/components/auth-form.tsx';
import { Field } from '@/components/field.tsx';
import { signUpAndSignIn } from '@/lib/auth-client.ts';
import { safeNext } from '@/lib/safe-next.ts';
import { useTRPC } from '@/lib/trpc.ts';

function SignUpForm() {
  const router = useRouter();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const next = safeNext(useSearchParams().get('next'));
  const status = useQuery(trpc.setup.status.queryOptions());

  async function submit(form: FormData) {
    const failure = await signUpAndSignIn({ name: fieldText(form, 'name'), email: fieldText(form, 'email'), password: String(form.get('password')) });
    if (failure) return failure;
    queryClient.clear();
    router.replace(next);
  }

  const closed = status.data && !status.data.signUpAllowed;
  return (
    <AuthCard
      title="Create your account"
      lead="Record every notebook run and share it with your team."
      foot={
        <>
          Already have an account? <Link href="/sign-in">Sign in</Link>
        </>
      }
    >
      {closed ? (
        <div className="alert alert-info">Sign-up on this server is by invitation. Ask an admin of your team for an invitation link.</div>
      ) : (
        <AuthForm submit={submit} label="Create account" busyLabel="Creating account…">
          <Field label="Name" name="name" autoComplete="name" required autoFocus maxLength={100} />
          <Field label="Email" name="email" type="email" autoComplete="email" required />
          <Field label="Password" name="password" type="password" autoComplete="new-password" required minLength={8} hint="At least 8 characters." />
        </AuthForm>
      )}
    </AuthCard>
  );
}

export default function SignUpPage() {
  return (
    <Suspense>
      <SignUpForm />
    </Suspense>
  );
}
