// The one submit flow of the signed-out forms (sign in, sign up, setup, invitation): busy while
// the request runs, what went wrong announced above the button, an unreachable server said so.
'use client';
import { type FormEvent, type ReactNode, useState } from 'react';
import { FormSubmit } from '@/components/field.tsx';
import { errorMessage } from '@/lib/errors.ts';

/** What `submit` returns: an error message to show, or nothing when it went through (and navigated on). */
type Submit = (form: FormData) => Promise<string | null | undefined>;

const UNREACHABLE = 'The Cellmark server is unreachable. Check your connection and try again.';

export function AuthForm({
  submit,
  label,
  busyLabel,
  whenFailed,
  testId,
  children,
}: {
  submit: Submit;
  label: string;
  busyLabel: string;
  /** shown with the error, above it (e.g. what already went through) */
  whenFailed?: ReactNode;
  testId?: string;
  children: ReactNode;
}) {
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setPending(true);
    setError(null);
    try {
      setError((await submit(form)) || null);
    } catch (failure) {
      // better-auth's fetch rejects with a TypeError when the server cannot be reached
      setError(failure instanceof TypeError ? UNREACHABLE : errorMessage(failure));
    } finally {
      setPending(false);
    }
  }

  return (
    <form className="form" onSubmit={onSubmit} data-testid={testId}>
      {children}
      {error ? whenFailed : null}
      <FormSubmit error={error} pending={pending} label={label} busyLabel={busyLabel} />
    </form>
  );
}

/** A form field's text, trimmed (passwords are read with `form.get` as typed). */
export const fieldText = (form: FormData, name: string) => String(form.get(name) ?? '').trim();
