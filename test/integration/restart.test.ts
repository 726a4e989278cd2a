// Data and sessions survive a restart of the whole server on the same embedded data dir.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { boot, loadEnv } from '@cellmark/server';
import { expect, it } from 'vitest';

it('keeps users, sessions and teams across a restart', async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'cellmark-restart-'));
  const env = () => loadEnv({ NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', CELLMARK_NO_WEB: '1', CELLMARK_DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  const first = await boot(env());
  const signUp = await fetch(`${first.url}/api/auth/sign-up/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: first.url },
    body: JSON.stringify({ name: 'Ada', email: 'ada@example.test', password: 'correct horse battery' }),
  });
  expect(signUp.status).toBe(200);
  const signIn = await fetch(`${first.url}/api/auth/sign-in/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: first.url },
    body: JSON.stringify({ email: 'ada@example.test', password: 'correct horse battery' }),
  });
  expect(signIn.status).toBe(200);
  const cookie = signIn.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const created = await fetch(`${first.url}/api/trpc/setup.createWorkspace`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie },
    body: JSON.stringify({ teamName: 'Lab', projectName: 'Vision' }),
  });
  expect(created.status).toBe(200);
  await first.stop();

  const second = await boot(env());
  try {
    // the same cookie still signs Ada in: the generated secret lives in the data dir
    const me = await fetch(`${second.url}/api/trpc/me.get`, { headers: { cookie } });
    expect(me.status).toBe(200);
    const body = (await me.json()) as { result: { data: { user: { email: string }; teams: { slug: string }[] } } };
    expect(body.result.data.user.email).toBe('ada@example.test');
    expect(body.result.data.teams.map((t) => t.slug)).toEqual(['lab']);
  } finally {
    await second.stop();
  }
}, 60_000);
