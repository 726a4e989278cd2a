// Accounts and browser sessions: better-auth (email + password) on our drizzle schema.
// Passwords and session cookies are entirely better-auth's; we only read the session.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import path from 'node:path';
import { accounts, type Db, sessions, users, verifications } from '@cellmark/db';
import { betterAuth } from 'better-auth';
import { drizzleAdapter } from 'better-auth/adapters/drizzle';
import { fromNodeHeaders } from 'better-auth/node';
import type { Env } from './env.ts';
import { signUpHooks } from './sign-up.ts';

/** Set by the HTTP layer (http/client-address.ts: the socket, or a trusted proxy's X-Forwarded-For), never taken from clients. */
export const CLIENT_IP_HEADER = 'x-cellmark-client-ip';

export function createAuth(db: Db, env: Env, secret: string) {
  return betterAuth({
    appName: 'Cellmark',
    baseURL: env.publicUrl,
    basePath: '/api/auth',
    secret,
    database: drizzleAdapter(db, { provider: 'pg', usePlural: true, schema: { users, sessions, accounts, verifications } }),
    emailAndPassword: {
      enabled: true,
      // Off so that a sign-up answers alike whether or not the email exists: better-auth then
      // gives an existing email its generic response (nothing created, no session, the
      // password hashed all the same). Clients sign in after signing up.
      autoSignIn: false,
      minPasswordLength: 8,
    },
    // open sign-up, the first-run account, or an invitation link (sign-up.ts)
    ...signUpHooks(db, env.CELLMARK_ALLOW_SIGNUP),
    // Same-origin UI; also accept the loopback spellings a local user may type.
    trustedOrigins: [env.publicUrl, `http://localhost:${env.PORT}`, `http://127.0.0.1:${env.PORT}`],
    telemetry: { enabled: false },
    advanced: { ipAddress: { ipAddressHeaders: [CLIENT_IP_HEADER] } },
    logger: { disabled: env.NODE_ENV === 'test' },
  });
}

export type Auth = ReturnType<typeof createAuth>;

export async function sessionUser(auth: Auth, headers: IncomingHttpHeaders) {
  const session = await auth.api.getSession({ headers: fromNodeHeaders(headers) });
  return session?.user ?? null;
}

/**
 * The signing secret: from the environment in deployments; for local use, generated once
 * and kept in the data directory so sessions survive restarts.
 */
export function resolveSecret(env: Env): string {
  if (env.CELLMARK_SECRET) return env.CELLMARK_SECRET;
  const file = path.join(env.dataDir, 'secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(env.dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}
