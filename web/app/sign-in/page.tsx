// /sign-in: email + password; returns to ?next= afterwards.
'use client';
import { useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter, useSearchParams } from 'next/navigation';
import { Suspense } from 'react';
import { AuthCard } from '@/components/auth-card.tsx';
import { AuthForm, fieldText } from '@/components/auth-form.tsx';
import { Field } from '@/components/field.tsx';
import { signIn } from '@/lib/auth-client.ts';
import { landingPath, lastProject } from '@/lib/landing.ts';
import { safeNext } from '@/lib/safe-next.ts';
import { useTRPC } from '@/lib/trpc.ts';

function SignInForm() {
  const router = useRouter();
  const queryClient = useQueryClient();
  const trpc = useTRPC();
  const next = safeNext(useSearchParams().get('next'));

  async function submit(form: FormData) {
    const failure = await signIn({ email: fieldText(form, 'email'), password: String(form.get('password')) });
    if (failure) return failure;
    queryClient.clear();
    router.replace(next === '/' ? await landing() : next);
  }

  /** No ?next=: the project the user was in last, or their most recent one (lib/landing.ts). */
  async function landing(): Promise<string> {
    const me = await queryClient.fetchQuery(trpc.me.get.queryOptions());
    const last = lastProject();
    // a remembered project may be gone, or another user's (a shared browser)
    const open = last
      ? await queryClient.fetchQuery(trpc.projects.byPath.queryOptions(last)).then(
          () => true,
          () => false,
        )
      : false;
    return landingPath(me, open ? last : null);
  }

  const signUpHref = next === '/' ? '/sign-up' : `/sign-up?next=${encodeURIComponent(next)}`;
  return (
    <AuthCard
      title="Sign in"
      lead="Welcome back to Cellmark."
      foot={
        <>
          No account yet? <Link href={signUpHref}>Create one</Link>
        </>
      }
    >
      <AuthForm submit={submit} label="Sign in" busyLabel="Signing in…">
        <Field label="Email" name="email" type="email" autoComplete="email" required autoFocus />
        <Field label="Password" name="password" type="password" autoComplete="current-password" required />
      </AuthForm>
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
