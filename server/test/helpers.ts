// Starts a real Cellmark server (API only, no web UI) on port 0 over a test database,
// and gives tests real HTTP clients: a browser-like session and an API-token client.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Database } from '@cellmark/db';
import { createTestDb } from '@cellmark/db/testing';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import { createAuth } from '../src/auth.ts';
import { type BlobStore, createFsBlobStore } from '../src/blobs/store.ts';
import type { ReportStore } from '../src/domain/reports/store.ts';
import { loadEnv } from '../src/env.ts';
import { type CellmarkServer, startServer } from '../src/http/app.ts';
import { createLogger } from '../src/logger.ts';
import type { AppRouter } from '../src/trpc/router.ts';

export interface TestServer extends CellmarkServer {
  database: Database;
  /** the server's blob store (a fresh directory per server) */
  blobs: BlobStore;
  /** where that store keeps its files */
  blobDir: string;
  /** stops the HTTP server only; the database stays for a restart */
  stopHttp(): Promise<void>;
  restart(): Promise<TestServer>;
  dispose(): Promise<void>;
}

export function testEnv(overrides: Record<string, string> = {}) {
  return loadEnv({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    CELLMARK_NO_WEB: '1',
    CELLMARK_SECRET: 'test-secret-that-is-long-enough-0123456789',
    LOG_LEVEL: 'silent',
    CELLMARK_SHUTDOWN_GRACE_MS: '2000',
    ...overrides,
  });
}

export async function startTestServer(
  overrides: Record<string, string> = {},
  existing?: Database,
  reportStore?: (database: Database) => ReportStore,
): Promise<TestServer> {
  const database = existing ?? (await createTestDb());
  const env = testEnv(overrides);
  const auth = createAuth(database.db, { ...env }, env.CELLMARK_SECRET!);
  const blobDir = mkdtempSync(path.join(tmpdir(), 'cellmark-test-blobs-'));
  const blobs = createFsBlobStore(blobDir);
  const server = await startServer({ env, logger: createLogger(env.LOG_LEVEL), database, auth, blobs, reportStore: reportStore?.(database) });
  const self: TestServer = {
    ...server,
    database,
    blobs,
    blobDir,
    stopHttp: () => server.close(),
    restart: async () => {
      await server.close();
      return startTestServer(overrides, database, reportStore);
    },
    dispose: async () => {
      await server.close();
      await database.close();
    },
  };
  return self;
}

export function trpcClient(baseUrl: string, headers: Record<string, string> = {}) {
  return createTRPCClient<AppRouter>({ links: [httpLink({ url: `${baseUrl}/api/trpc`, headers: () => headers })] });
}

export type Client = ReturnType<typeof trpcClient>;

export interface TestUser {
  id: string;
  email: string;
  cookie: string;
  api: Client;
}

let counter = 0;

/** POST to a better-auth endpoint as the browser does. */
export function authPost(server: { url: string }, endpoint: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${server.url}/api/auth/${endpoint}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: server.url, ...headers },
    body: JSON.stringify(body),
  });
}

export function cookieOf(res: Response): string {
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
}

/** Signs in through better-auth's real HTTP endpoint and keeps the session cookie. */
export async function signIn(server: { url: string }, email: string, password = 'correct horse battery'): Promise<TestUser> {
  const res = await authPost(server, 'sign-in/email', { email, password });
  if (!res.ok) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { user: { id: string } };
  const cookie = cookieOf(res);
  return { id: body.user.id, email, cookie, api: trpcClient(server.url, { cookie, origin: server.url }) };
}

/**
 * Signs up through better-auth's real HTTP endpoint, then signs in (sign-up never signs in:
 * see auth.ts), optionally through an invitation link.
 */
export async function signUp(server: { url: string }, name = `user${++counter}`, invitation?: string): Promise<TestUser> {
  const email = `${name}-${randomBytes(3).toString('hex')}@example.test`;
  const headers: Record<string, string> = invitation ? { 'x-cellmark-invitation': invitation } : {};
  const res = await authPost(server, 'sign-up/email', { name, email, password: 'correct horse battery' }, headers);
  if (!res.ok) throw new Error(`sign-up failed: ${res.status} ${await res.text()}`);
  return signIn(server, email);
}

/** A user with a team, a project and an API token, like the quick start makes. */
export async function userWithProject(server: { url: string }, name?: string, invitation?: string) {
  const user = await signUp(server, name, invitation);
  const teamName = `${name ?? 'team'} ${randomBytes(3).toString('hex')}`;
  const { team, project } = await user.api.setup.createWorkspace.mutate({ teamName, projectName: 'Vision' });
  const { token } = await user.api.tokens.create.mutate({ name: 'lab' });
  const ingest = trpcClient(server.url, { authorization: `Bearer ${token}` });
  return { ...user, team, project, token, ingest, projectPath: `${team.slug}/${project.slug}` };
}

/** Raw HTTP for what clients cannot send (bad bytes, wrong types). */
export async function post(url: string, procedure: string, body: string | Uint8Array, token?: string) {
  const res = await fetch(`${url}/api/trpc/${procedure}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
  });
  return { status: res.status, body: (await res.json()) as { error?: { message: string; data: { code: string } } } };
}

export function errorOf(error: unknown) {
  if (!(error instanceof TRPCClientError)) throw error;
  return { message: error.message, code: error.data?.code as string, status: error.data?.httpStatus as number };
}

/** Retries an assertion until it passes or the deadline passes (no sleeps in tests). */
export async function eventually<T>(fn: () => T | Promise<T>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}
