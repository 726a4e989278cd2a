// `npm start` as a newcomer meets it: server + JupyterLab come up configured and on loopback
// only, a cell run in the printed JupyterLab shows up in the printed Cellmark, a second
// `npm start` meanwhile prints the running one's URLs, Ctrl-C ends the run (its kernel shut
// down), and everything survives a restart, which rebuilds nothing and keeps the URLs.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { freePort, repoRoot, waitFor } from './support/cellmark.ts';
import { runCell } from './support/lab.ts';

interface Started {
  child: ChildProcess;
  output: () => string;
  cellmarkUrl: string;
  labUrl: string;
  email: string;
  password: string;
  ms: number;
}

// a data dir that does not exist yet, as on a fresh checkout
const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'cellmark-quickstart-')), '.cellmark');
let ports: { server: number; lab: number };
let current: Started | null = null;

function quickstartEnv() {
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: String(ports.server),
    CELLMARK_LAB_PORT: String(ports.lab),
    CELLMARK_DATA_DIR: dataDir,
  };
  delete env.DATABASE_URL;
  delete env.NODE_ENV;
  return env as unknown as NodeJS.ProcessEnv;
}

// exactly what `npm start` runs, with ports and data dir of our own
const spawnQuickstart = () =>
  spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'server/src/cli/quickstart.ts')], {
    cwd: repoRoot,
    env: quickstartEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so a failed test can kill server and JupyterLab too
  });

async function npmStart(): Promise<Started> {
  const started = Date.now();
  const child = spawnQuickstart();
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`npm start exited ${child.exitCode}:\n${output}`);
      return /JupyterLab {2}http/.test(output);
    },
    'npm start to print its URLs',
    300_000,
  );
  const cellmarkUrl = /Cellmark {4}(http\S+)/.exec(output)![1]!;
  const labUrl = /JupyterLab {2}(http\S+)/.exec(output)![1]!;
  const [, email, password] = /sign in {5}(\S+) \/ (\S+)/.exec(output)!;
  return { child, output: () => output, cellmarkUrl, labUrl, email: email!, password: password!, ms: Date.now() - started };
}

/** Whether something accepts TCP connections on host:port. */
const accepts = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host, port }, () => {
      socket.destroy();
      resolve(true);
    }).once('error', () => resolve(false));
  });

/** This machine's addresses other than loopback: the quick start must not answer on them. */
const outsideAddresses = () =>
  Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && a.family === 'IPv4' && !a.internal)
    .map((a) => a!.address);

/** Ctrl-C in the terminal: SIGINT to the whole foreground process group. */
async function stop(started: Started) {
  const exited = new Promise<number | null>((r) => started.child.once('exit', r));
  process.kill(-started.child.pid!, 'SIGINT');
  expect(await exited).toBe(0);
}

test.afterAll(async () => {
  if (!current || current.child.exitCode !== null) return;
  // npm start stops its server and JupyterLab (process groups of their own) on SIGINT
  const exited = new Promise((r) => current!.child.once('exit', r));
  current.child.kill('SIGINT');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 60_000))]);
  if (current.child.exitCode === null) process.kill(-current.child.pid!, 'SIGKILL');
});

test('npm start: JupyterLab records into Cellmark out of the box, and data survives a restart', async ({ browser }) => {
  ports = { server: await freePort(), lab: await freePort() };
  current = await npmStart();
  test.info().annotations.push({ type: 'timing', description: `npm start ready (server + JupyterLab) in ${current.ms} ms` });
  expect(current.cellmarkUrl).toBe(`http://localhost:${ports.server}`);
  expect(current.email).toBe('you@localhost.test');
  expect(current.output()).toContain('notebooks in ');
  expect(current.output()).toContain('listening on 127.0.0.1 only');
  expect(await accepts('127.0.0.1', ports.server)).toBe(true);
  expect(await accepts('127.0.0.1', ports.lab)).toBe(true);
  const outside = outsideAddresses();
  expect(outside.length, 'this test needs a non-loopback interface to check that nothing listens there').toBeGreaterThan(0);
  for (const address of outside) {
    expect(await accepts(address, ports.server), `Cellmark on ${address}`).toBe(false);
    expect(await accepts(address, ports.lab), `JupyterLab on ${address}`).toBe(false);
  }

  // A second npm start on the same data dir prints the running one's URLs and exits 0.
  const second = spawnQuickstart();
  let secondOutput = '';
  second.stdout!.on('data', (d) => (secondOutput += d));
  second.stderr!.on('data', (d) => (secondOutput += d));
  expect(await new Promise((r) => second.once('exit', r)), secondOutput).toBe(0);
  expect(secondOutput).toContain(`already running (pid ${current.child.pid})`);
  expect(secondOutput).toContain(`Cellmark    ${current.cellmarkUrl}`);
  expect(secondOutput).toContain(`JupyterLab  ${current.labUrl}`);
  expect(secondOutput).not.toMatch(/healthy|database|in use/);
  expect((await fetch(`${current.cellmarkUrl}/healthz`)).ok).toBe(true);

  // A notebook in the printed JupyterLab, with nothing configured by hand.
  const lab = await browser.newPage();
  const labToken = new URL(current.labUrl).searchParams.get('token')!;
  const labBase = new URL(current.labUrl).origin;
  const put = await fetch(`${labBase}/api/contents/hello.ipynb?token=${labToken}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      type: 'notebook',
      content: {
        nbformat: 4,
        nbformat_minor: 5,
        metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
        cells: [{ id: 'hello', cell_type: 'code', metadata: {}, source: 'print("hello from the quick start")', outputs: [], execution_count: null }],
      },
    }),
  });
  expect(put.status).toBe(201);
  await lab.goto(current.labUrl.replace('/lab?', '/lab/tree/hello.ipynb?'));
  const status = lab.locator('.jp-StatusBar-Widget', { hasText: 'Cellmark' });
  await expect(status).toBeVisible({ timeout: 60_000 });
  await expect(status).not.toContainText(/not configured|⚠|starting/, { timeout: 60_000 });
  await expect(lab.locator('.jp-Notebook-ExecutionIndicator, .jp-StatusBar-Widget', { hasText: /Idle/ }).first()).toBeVisible({ timeout: 60_000 });
  const cell = lab.locator('.jp-NotebookPanel .jp-Cell').first();
  await runCell(cell, 1);

  // The printed sign-in works, and the run is there.
  const context = await browser.newContext();
  const web = await context.newPage();
  await web.goto(current.cellmarkUrl);
  await web.getByLabel('Email').fill(current.email);
  await web.getByLabel('Password').fill(current.password);
  await web.getByRole('button', { name: 'Sign in' }).click();
  await web.getByRole('link', { name: 'Notebooks' }).click();
  const rows = web.getByTestId('run-row');
  await expect(rows).toHaveCount(1, { timeout: 30_000 });
  await expect(rows.first()).toContainText('hello.ipynb');
  await rows.first().getByRole('link').first().click();
  await expect(web.getByTestId('cell')).toHaveCount(1, { timeout: 30_000 });
  await expect(web.getByTestId('cell-output')).toContainText('hello from the quick start');
  const runUrl = web.url();

  await stop(current);
  await expect(fetch(`${current.cellmarkUrl}/healthz`)).rejects.toThrow();

  // Same data dir: same account, same run, ended when Ctrl-C shut its kernel down; nothing
  // rebuilt, and the JupyterLab URL (its token) is the one printed before.
  const firstLabUrl = current.labUrl;
  current = await npmStart();
  expect(current.output()).not.toContain('building');
  expect(current.labUrl).toBe(firstLabUrl);
  await web.goto(runUrl);
  await expect(web.getByTestId('cell-output')).toContainText('hello from the quick start');
  await expect(web.getByTestId('run-header').locator('.badge').first()).toHaveAttribute('data-status', 'finished');
  await stop(current);
});
