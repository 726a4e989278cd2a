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
