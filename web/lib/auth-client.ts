// better-auth's browser client (email + password, session cookie on this origin).
import { createAuthClient } from 'better-auth/react';

function create() {
  return createAuthClient({ baseURL: window.location.origin, basePath: '/api/auth' });
}

let client: ReturnType<typeof create> | null = null;

/** Created on first use: pages are also rendered on the server, where there is no window. */
export function authClient(): ReturnType<typeof create> {
  client ??= create();
  return client;
}

/** Sent with a sign-up made through an invitation link (the server's auth hooks read it). */
const INVITATION_HEADER = 'x-cellmark-invitation';

/**
 * Creates an account, then signs in: the server's sign-up never signs in, so that it answers
 * alike whether or not the email already has an account. With an existing email the sign-in
 * is what fails, as a wrong password would. Returns an error message, or null.
 */
export async function signUpAndSignIn(input: { name: string; email: string; password: string; invitation?: string }): Promise<string | null> {
  const { invitation, ...fields } = input;
  const headers: Record<string, string> = invitation ? { [INVITATION_HEADER]: invitation } : {};
  const signedUp = await authClient().signUp.email(fields, { headers });
  if (signedUp.error) return signedUp.error.message || `Sign-up failed (${signedUp.error.status})`;
  const signedIn = await authClient().signIn.email({ email: fields.email, password: fields.password });
  if (signedIn.error?.status === 401) return 'Could not sign in with this email and password. If you already have an account, sign in instead.';
  return signedIn.error ? signInFailure(signedIn.error) : null;
}

/** Signs in with email and password. Returns an error message, or null. */
export async function signIn(input: { email: string; password: string }): Promise<string | null> {
  const { error } = await authClient().signIn.email(input);
  return error ? signInFailure(error) : null;
}

const signInFailure = (error: { message?: string; status: number }) => error.message || `Sign-in failed (${error.status})`;
