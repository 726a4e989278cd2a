// /sign-up: create an account (signed in at once), then on to a team.
'use client';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter, useSearchParams } from 'next/navigation';
import { type FormEvent, Suspense, useState } from 'react';
import { AuthCard } from '@/components/auth-card.tsx';
import { Field, FormSubmit } from '@/components/field.tsx';
import { signUpAndSignIn } from '@/lib/auth-client.ts';
import { safeNext } from '@/lib/safe-next.ts';
import { useTRPC } from '@/lib/trpc.ts';

function SignUpForm() {
  const router = useRouter();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const next = safeNext(useSearchParams().get('next'));
  const status = useQuery(trpc.setup.status.queryOptions());
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setPending(true);
    setError(null);
    try {
      const failure = await signUpAndSignIn({
        name: String(form.get('name')).trim(),
        email: String(form.get('email')).trim(),
        password: String(form.get('password')),
      });
      if (failure) {
        setError(failure);
        return;
      }
      queryClient.clear();
      router.replace(next);
    } catch {
      setError('The Cellmark server is unreachable. Check your connection and try again.');
    } finally {
      setPending(false);
    }
  }

  const closed = status.data && !status.data.signUpAllowed;
  return (
    <AuthCard title="Create your account" lead="Record every notebook run and share it with your team." foot={<>Already have an account? <Link href="/sign-in">Sign in</Link></>}>
      {closed ? (
        <div className="alert alert-info">Sign-up on this server is by invitation. Ask an admin of your team for an invitation link.</div>
      ) : (
        <form className="form" onSubmit={onSubmit}>
          <Field label="Name" name="name" autoComplete="name" required autoFocus maxLength={100} />
          <Field label="Email" name="email" type="email" autoComplete="email" required />
          <Field label="Password" name="password" type="password" autoComplete="new-password" required minLength={8} hint="At least 8 characters." />
          <FormSubmit error={error} pending={pending} label="Create account" busyLabel="Creating account…" />
        </form>
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
