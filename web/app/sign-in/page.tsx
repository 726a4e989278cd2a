// /sign-in: email + password; returns to ?next= afterwards.
'use client';
import { useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter, useSearchParams } from 'next/navigation';
import { type FormEvent, Suspense, useState } from 'react';
import { AuthCard } from '@/components/auth-card.tsx';
import { Field, FormSubmit } from '@/components/field.tsx';
import { authClient } from '@/lib/auth-client.ts';
import { landingPath, lastProject } from '@/lib/landing.ts';
import { safeNext } from '@/lib/safe-next.ts';
import { useTRPC } from '@/lib/trpc.ts';

function SignInForm() {
  const router = useRouter();
  const queryClient = useQueryClient();
  const trpc = useTRPC();
  const next = safeNext(useSearchParams().get('next'));
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setPending(true);
    setError(null);
    try {
      const { error: failure } = await authClient().signIn.email({
        email: String(form.get('email')),
        password: String(form.get('password')),
      });
      if (failure) {
        setError(failure.message || `Sign-in failed (${failure.status})`);
        return;
      }
      queryClient.clear();
      router.replace(next === '/' ? await landing() : next);
    } catch {
      setError('The Cellmark server is unreachable. Check your connection and try again.');
    } finally {
      setPending(false);
    }
  }

  /** No ?next=: the project the user was in last, or their most recent one (lib/landing.ts). */
  async function landing(): Promise<string> {
    const me = await queryClient.fetchQuery(trpc.me.get.queryOptions());
    const last = lastProject();
    // a remembered project may be gone, or another user's (a shared browser)
    const open = last ? await queryClient.fetchQuery(trpc.projects.byPath.queryOptions(last)).then(() => true, () => false) : false;
    return landingPath(me, open ? last : null);
  }

  const signUpHref = next === '/' ? '/sign-up' : `/sign-up?next=${encodeURIComponent(next)}`;
  return (
    <AuthCard title="Sign in" lead="Welcome back to Cellmark." foot={<>No account yet? <Link href={signUpHref}>Create one</Link></>}>
      <form className="form" onSubmit={onSubmit}>
        <Field label="Email" name="email" type="email" autoComplete="email" required autoFocus />
        <Field label="Password" name="password" type="password" autoComplete="current-password" required />
        <FormSubmit error={error} pending={pending} label="Sign in" busyLabel="Signing in…" />
      </form>
    </AuthCard>
  );
}

export default function SignInPage() {
  return (
    <Suspense>
      <SignInForm />
    </Suspense>
  );
}
