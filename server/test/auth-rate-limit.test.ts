// The sign-in rate limit (better-auth's, on in production: 3 tries per 10 s per client) keys
// its buckets by client address. Behind a reverse proxy every request comes from the proxy's
// socket, so the client is read from X-Forwarded-For — only when CELLMARK_TRUSTED_PROXIES names
// that proxy; anyone else's X-Forwarded-For is ignored, so a client cannot pick a fresh bucket.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadEnv } from '../src/env.ts';
import { type ServerProcess, startServerProcess } from './server-processes.ts';

const started: ServerProcess[] = [];
afterAll(async () => {
  for (const p of started) {
    p.child.kill('SIGTERM');
    await p.exited;
  }
});

async function productionServer(env: Record<string, string> = {}) {
  const p = await startServerProcess({ NODE_ENV: 'production', CELLMARK_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'cellmark-ratelimit-')), ...env });
  started.push(p);
  return p;
}

/** One sign-in attempt with a wrong password; the status says whether the bucket is spent (429). */
async function signIn(server: ServerProcess, forwardedFor?: string) {
  const res = await fetch(`${server.url}/api/auth/sign-in/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: server.url, ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) },
    body: JSON.stringify({ email: 'nobody@example.com', password: 'wrong-password' }),
  });
  await res.body?.cancel();
  return res.status;
}

describe('sign-in rate limit by client', () => {
  it('behind a trusted proxy, each forwarded client has its own bucket', async () => {
    const server = await productionServer({ CELLMARK_TRUSTED_PROXIES: '127.0.0.1/32, ::1' });
    // a spent bucket for one client behind the proxy…
    const first = [];
    for (let i = 0; i < 4; i++) first.push(await signIn(server, '203.0.113.1'));
    expect(first).toEqual([401, 401, 401, 429]);
    // …is not another client's
    expect(await signIn(server, '203.0.113.2')).toBe(401);
    // what a client writes in front of the proxy's entry is not believed: still 203.0.113.1
    expect(await signIn(server, '198.51.100.77, 203.0.113.1')).toBe(429);
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy: a client cannot pick a fresh bucket', async () => {
    const server = await productionServer({ CELLMARK_TRUSTED_PROXIES: '10.0.0.0/8' });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push(await signIn(server, `203.0.113.${10 + i}`));
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });

  it('refuses a malformed CELLMARK_TRUSTED_PROXIES at start, naming the entry', () => {
    expect(() => loadEnv({ CELLMARK_TRUSTED_PROXIES: '10.0.0.0/8,proxy.internal' })).toThrow(
      'invalid environment: CELLMARK_TRUSTED_PROXIES: not an IP address or CIDR: "proxy.internal"',
    );
    expect(loadEnv({ CELLMARK_TRUSTED_PROXIES: ' 10.0.0.0/8, ::1 ,' }).CELLMARK_TRUSTED_PROXIES).toEqual(['10.0.0.0/8', '::1']);
    expect(loadEnv({}).CELLMARK_TRUSTED_PROXIES).toEqual([]);
  });
});
