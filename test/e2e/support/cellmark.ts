// Starts the real Cellmark server process (production web build) on a free port with a
// fresh PGlite data directory, and drives its public API the way a user's browser would.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BrowserContext } from '@playwright/test';

export const repoRoot = path.resolve(import.meta.dirname, '../../..');

// the specs and lab.ts take it from here, with the rest of what starts Cellmark
export { freePort } from '@cellmark/db/testing';

export async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export class CellmarkProcess {
  private child: ChildProcess | null = null;
  log = '';
  readonly url: string;

  constructor(
    readonly port: number,
    readonly dataDir = mkdtempSync(path.join(tmpdir(), 'cellmark-e2e-')),
    /** on top of the defaults below (which open sign-up: the specs sign several people up), e.g. CELLMARK_TRUSTED_PROXIES */
    readonly env: Record<string, string> = {},
  ) {
    this.url = `http://localhost:${port}`;
  }

  async start() {
    const started = Date.now();
    this.child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'server/src/main.ts')], {
      cwd: repoRoot,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: String(this.port),
        CELLMARK_DATA_DIR: this.dataDir,
        CELLMARK_SECRET: 'e2e-secret-that-is-long-enough-0123456789',
        CELLMARK_PUBLIC_URL: this.url,
        DATABASE_URL: '',
        LOG_LEVEL: 'warn',
        CELLMARK_ALLOW_SIGNUP: '1',
        ...this.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d) => (this.log += d));
    this.child.stderr!.on('data', (d) => (this.log += d));
    await waitFor(async () => {
      if (this.child?.exitCode !== null) throw new Error(`server exited: ${this.log}`);
      return (await fetch(`${this.url}/healthz`)).ok;
    }, 'server health');
    return Date.now() - started;
  }

  async stop() {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const code = await exited;
    this.child = null;
    if (code !== 0) throw new Error(`server exited ${code} on SIGTERM: ${this.log}`);
  }

  /**
   * SIGKILL, as a crash or the OOM killer would: no shutdown at all. start() brings it back
   * on the same port and data directory.
   */
  async kill() {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    this.child = null;
  }

  /** tRPC over plain HTTP, as any client may call it. */
  async call<T>(procedure: string, input: unknown, headers: Record<string, string>, kind: 'query' | 'mutation' = 'mutation'): Promise<T> {
    const init: RequestInit =
      kind === 'query' ? { headers } : { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(input) };
    const url = kind === 'query' ? `${this.url}/api/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}` : `${this.url}/api/trpc/${procedure}`;
    const res = await fetch(url, init);
    const body = (await res.json()) as { result?: { data: T }; error?: { message: string } };
    if (!body.result) throw new Error(`${procedure}: ${res.status} ${body.error?.message}`);
    return body.result.data;
  }

  /** Signs up through the real auth endpoint; returns the session cookie. */
  async signUp(name: string, email: string, password: string) {
    const res = await fetch(`${this.url}/api/auth/sign-up/email`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: this.url },
      body: JSON.stringify({ name, email, password }),
    });
    if (!res.ok) throw new Error(`sign-up: ${res.status} ${await res.text()}`);
    // sign-up never signs in (see server/src/auth.ts)
    const signIn = await fetch(`${this.url}/api/auth/sign-in/email`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: this.url },
      body: JSON.stringify({ email, password }),
    });
    if (!signIn.ok) throw new Error(`sign-in: ${signIn.status} ${await signIn.text()}`);
    const cookie = signIn.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    return { cookie, headers: { cookie, origin: this.url } };
  }
}

/** Gives a browser context the session cookie `signUp` returned, so its pages are signed in. */
export async function signInBrowser(context: BrowserContext, url: string, cookie: string): Promise<void> {
  await context.addCookies(
    cookie.split('; ').map((pair) => {
      const [name, ...value] = pair.split('=');
      return { name: name!, value: value.join('='), url };
    }),
  );
}

/** A new user's first minutes: sign up, a team with a project, an API token for JupyterLab. */
export async function createWorkspace(cellmark: CellmarkProcess, user: { name: string; email: string }, teamName: string, projectName: string) {
  const { headers, cookie } = await cellmark.signUp(user.name, user.email, 'correct horse battery');
  const { team, project } = await cellmark.call<{ team: { slug: string }; project: { id: string; slug: string } }>(
    'setup.createWorkspace',
    { teamName, projectName },
    headers,
  );
  const { token } = await cellmark.call<{ token: string }>('tokens.create', { name: 'lab' }, headers);
  return { headers, cookie, team, project, token, auth: { cookie, origin: cellmark.url }, labProject: `${team.slug}/${project.slug}` };
}
