// `npm start`: build what is needed, start Cellmark on its embedded Postgres and, when
// Python is available, a JupyterLab with the extension already configured against it.
// Local use only: it creates a local user and token on first run, which a deployment
// (NODE_ENV=production, or --no-bootstrap) never does.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { claimInstance, fingerprint, keptSecret, markReady, readyInstance, releaseInstance, sourceFiles } from './local-state.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const args = new Set(process.argv.slice(2));
const withLab = !args.has('--no-lab');
const deployment = process.env.NODE_ENV === 'production' || args.has('--no-bootstrap');
/** phase timings at the end (also CELLMARK_TIMINGS=1) */
const showTimings = args.has('--timings') || process.env.CELLMARK_TIMINGS === '1';
const port = Number(process.env.PORT ?? 3000);
const labPort = Number(process.env.CELLMARK_LAB_PORT ?? 8888);
// Loopback unless asked: the quick start signs nobody in, but sign-up is open outside production.
const host = process.env.HOST || '127.0.0.1';
const dataDir = path.resolve(root, process.env.CELLMARK_DATA_DIR ?? '.cellmark');
const instanceFile = path.join(dataDir, 'npm-start.json');
const credentialsFile = path.join(dataDir, 'local-credentials.json');
const notebookDir = path.resolve(root, process.env.CELLMARK_NOTEBOOK_DIR ?? path.join(dataDir, 'notebooks'));
const venv = path.join(root, '.venv');
const urlHost = host === '0.0.0.0' || host === '::' || host === '127.0.0.1' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
const serverUrl = `http://${urlHost}:${port}`;
const children: ChildProcess[] = [];
/** the Cellmark server among the children: stopped last */
let serverProcess: ChildProcess | null = null;
const t0 = Date.now();
const timings: { phase: string; from: number; to: number; load: number }[] = [];

function log(message: string) {
  process.stdout.write(`\x1b[36mcellmark\x1b[0m ${message}\n`);
}

function fail(message: string): never {
  process.stderr.write(`cellmark: ${message}\n`);
  for (const child of children) child.kill('SIGTERM');
  process.exit(1);
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Runs one phase of the start, recording when it began and ended. */
async function phase<T>(name: string, work: () => Promise<T> | T): Promise<T> {
  const from = Date.now() - t0;
  const result = await work();
  timings.push({ phase: name, from, to: Date.now() - t0, load: loadavg()[0]! });
  return result;
}

/**
 * Runs a command without blocking the event loop (phases run side by side), its output kept
 * and shown only if it fails: concurrent builds would interleave theirs.
 */
function run(command: string, argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(command, argv, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (error) => fail(`"${command}" could not run: ${error.message}`));
    child.on('exit', (code, signal) => {
      children.splice(children.indexOf(child), 1);
      if (code === 0) return resolve();
      if (shuttingDown) return;
      process.stderr.write(output);
      fail(`"${command} ${argv.join(' ')}" failed (exit ${code ?? signal})`);
    });
  });
}

/** Whether nothing listens on host:port yet: else a clear line instead of a server that dies. */
function portFree(portToTry: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer()
      .once('error', () => resolve(false))
      .listen(portToTry, host, () => probe.close(() => resolve(true)));
  });
}

/** A secret kept in the data dir (0600), the same on every start. */
const dataDirSecret = (name: string, bytes: number, encoding: BufferEncoding) =>
  keptSecret(path.join(dataDir, name), () => randomBytes(bytes).toString(encoding));

async function waitForHealth(url: string, child: ChildProcess, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) fail('the server exited during start-up (see above)');
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  fail(`the server did not become healthy within ${timeoutMs / 1000} s`);
}

interface LocalCredentials {
  email: string;
  password: string;
  token: string;
  project: string;
}

/** The first run's team and project; on a database without users their slugs are free. */
const LOCAL_WORKSPACE = { teamName: 'Local', projectName: 'Notebooks', path: 'local/notebooks' };

/** The project the local JupyterLab records to: the one made on the first run (or to be made now). */
function localProject(): string {
  return existsSync(credentialsFile) ? (JSON.parse(readFileSync(credentialsFile, 'utf8')) as LocalCredentials).project : LOCAL_WORKSPACE.path;
}

/** First run only: creates the local user, team, project and token through the public API. */
async function bootstrap(): Promise<LocalCredentials | null> {
  if (existsSync(credentialsFile)) return JSON.parse(readFileSync(credentialsFile, 'utf8')) as LocalCredentials;
  const status = (await (await fetch(`${serverUrl}/api/trpc/setup.status`)).json()) as { result: { data: { needsFirstUser: boolean } } };
  if (!status.result.data.needsFirstUser) return null;
  const email = 'you@localhost.test';
  const password = randomBytes(12).toString('base64url');
  const signUp = await fetch(`${serverUrl}/api/auth/sign-up/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: serverUrl },
    body: JSON.stringify({ name: 'Local user', email, password }),
  });
  if (!signUp.ok) fail(`could not create the local user: ${signUp.status} ${await signUp.text()}`);
  // sign-up never signs in (an existing email must look the same), so sign in now
  const signIn = await fetch(`${serverUrl}/api/auth/sign-in/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: serverUrl },
    body: JSON.stringify({ email, password }),
  });
  if (!signIn.ok) fail(`could not sign the local user in: ${signIn.status} ${await signIn.text()}`);
  const cookie = signIn.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const call = async <T>(procedure: string, input: unknown): Promise<T> => {
    const res = await fetch(`${serverUrl}/api/trpc/${procedure}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, origin: serverUrl },
      body: JSON.stringify(input),
    });
    const body = (await res.json()) as { result?: { data: T }; error?: { message: string } };
    if (!body.result) fail(`${procedure} failed: ${body.error?.message}`);
    return body.result.data;
  };
  const { team, project } = await call<{ team: { slug: string }; project: { slug: string } }>('setup.createWorkspace', {
    teamName: LOCAL_WORKSPACE.teamName,
    projectName: LOCAL_WORKSPACE.projectName,
  });
  const { token } = await call<{ token: string }>('tokens.create', { name: 'local JupyterLab' });
  const credentials = { email, password, token, project: `${team.slug}/${project.slug}` };
  writeFileSync(credentialsFile, JSON.stringify(credentials, null, 2), { mode: 0o600 });
  return credentials;
}

function python(): string | null {
  for (const candidate of ['python3', 'python']) {
    if (spawnSync(candidate, ['--version'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  return null;
}

/**
 * What building the extension's wheel needs (pyproject's build-system requires and its build
 * hook's dependencies), to install them into the venv once and build without pip's isolated
 * environment, which downloaded and installed them again on every reinstall (~15 s). Null when
 * this Python cannot read TOML (before 3.11): then pip builds in isolation.
 */
function buildRequirements(py: string): string[] | null {
  const read = `import json, tomllib; p = tomllib.load(open("jupyterlab-extension/pyproject.toml", "rb")); print(json.dumps(p["build-system"]["requires"] + p["tool"]["hatch"]["build"]["hooks"]["jupyter-builder"]["dependencies"]))`;
  const result = spawnSync(py, ['-c', read], { cwd: root, encoding: 'utf8' });
  return result.status === 0 ? (JSON.parse(result.stdout) as string[]) : null;
}

/** The extension's inputs: its package's sources and the lockfile that pins what it bundles. */
function extensionFingerprint(): string {
  return fingerprint(root, [...sourceFiles(root, 'jupyterlab-extension'), 'package-lock.json']);
}

const pip = (env: NodeJS.ProcessEnv, ...argv: string[]) =>
  run(path.join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', ...argv], env);

/**
 * `.venv` with JupyterLab (first run), then the extension built and installed into it when its
 * sources changed since the build installed there (the fingerprint lives in the venv: a new
 * venv gets the extension even if the sources did not change).
 */
async function prepareLab(py: string): Promise<void> {
  const bin = path.join(venv, 'bin');
  const env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}`, VIRTUAL_ENV: venv };
  const requirements = buildRequirements(py);
  if (!existsSync(path.join(bin, 'jupyter-lab'))) {
    log('creating .venv with JupyterLab (first run only)…');
    await phase('venv: python -m venv', () => run(py, ['-m', 'venv', venv]));
    await phase('venv: pip install jupyterlab', () => pip(env, 'jupyterlab>=4.6,<4.7', ...(requirements ?? [])));
  }
  const stamp = path.join(venv, 'cellmark-extension.fingerprint');
  const sources = extensionFingerprint();
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === sources) return;
  log('building and installing the JupyterLab extension…');
  await phase('extension: npm run build:prod', () => run('npm', ['run', 'build:prod', '-w', '@cellmark/jupyterlab'], env));
  await phase('extension: pip install', async () => {
    if (requirements) await pip(env, ...requirements); // nothing to do once installed
    await pip(env, '--force-reinstall', '--no-deps', ...(requirements ? ['--no-build-isolation'] : []), './jupyterlab-extension');
  });
  writeFileSync(stamp, sources);
}

async function startLab(credentials: LocalCredentials | null): Promise<{ url: string }> {
  const bin = path.join(venv, 'bin');
  mkdirSync(notebookDir, { recursive: true });
  // Settings for the extension, applied as JupyterLab defaults for this venv only.
  const settingsDir = path.join(venv, 'share', 'jupyter', 'lab', 'settings');
  mkdirSync(settingsDir, { recursive: true });
  const overrides = {
    '@cellmark/jupyterlab:plugin': credentials ? { serverUrl, apiToken: credentials.token, project: credentials.project } : { serverUrl },
    // works offline: no "get news?" prompt, no update checks against the internet
    '@jupyterlab/apputils-extension:notification': { fetchNews: 'false', checkForUpdates: false },
  };
  writeFileSync(path.join(settingsDir, 'overrides.json'), JSON.stringify(overrides, null, 2));
  // the same token on every start: a bookmarked or open JupyterLab tab keeps working
  const labToken = dataDirSecret('jupyterlab-token', 24, 'hex');
  const argv = [
    'lab',
    '--no-browser',
    `--ServerApp.ip=${host}`,
    `--port=${labPort}`,
    '--ServerApp.port_retries=0',
    `--ServerApp.root_dir=${notebookDir}`,
    `--IdentityProvider.token=${labToken}`,
  ];
  if (process.getuid?.() === 0) argv.push('--allow-root');
  const lab = spawn(path.join(bin, 'jupyter'), argv, {
    cwd: notebookDir,
    env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}` },
    stdio: ['ignore', 'ignore', 'pipe'],
    // its own process group, as the server's: a terminal's Ctrl-C reaches only us, and we stop
    // JupyterLab with SIGTERM (its SIGINT asks "Shut down this Jupyter server?" and, with no
    // terminal to answer, it and its kernels went without the kernels ending their runs)
    detached: true,
  });
  children.push(lab);
  let lastLines = '';
  lab.stderr!.on('data', (d: Buffer) => (lastLines = (lastLines + d.toString()).slice(-4000)));
  lab.on('exit', (code) => {
    if (!shuttingDown) {
      process.stderr.write(lastLines);
      log(`JupyterLab exited (${code}); the server keeps running`);
    }
  });
  const base = `http://${urlHost}:${labPort}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (lab.exitCode !== null) fail(`JupyterLab exited during start-up:\n${lastLines}`);
    if (Date.now() > deadline) fail(`JupyterLab did not answer on ${base} within 120 s:\n${lastLines}`);
    const ok = await fetch(`${base}/api/status?token=${labToken}`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: `${base}/lab?token=${labToken}` };
}

let shuttingDown = false;

/** Another `npm start` on this data dir: print its URLs instead of failing on its database. */
async function reportRunning(other: { pid: number }) {
  log(`npm start is already running on ${path.relative(root, dataDir) || dataDir} (pid ${other.pid})`);
  const ready = await readyInstance(instanceFile, 300_000);
  if (!ready) fail(`the npm start with pid ${other.pid} holds ${dataDir} but is not healthy; stop it (kill ${other.pid}) or set CELLMARK_DATA_DIR`);
  process.stdout.write(
    `${[...ready.banner!, `  already running (pid ${ready.pid}): stop it with Ctrl-C in its terminal or kill ${ready.pid}`].join('\n')}\n\n`,
  );
  process.exit(0);
}

/** `withLab`: JupyterLab is being started alongside (its URL shown on the empty runs page). */
function startServer(withLab: boolean): ChildProcess {
  const server = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'server/src/main.ts')], {
    cwd: root,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      HOST: host,
      PORT: String(port),
      CELLMARK_DATA_DIR: dataDir,
      // a deployment must bring its own secret (the server refuses to start without one)
      CELLMARK_SECRET: process.env.CELLMARK_SECRET ?? (deployment ? undefined : dataDirSecret('secret', 32, 'base64url')),
      CELLMARK_PUBLIC_URL: process.env.CELLMARK_PUBLIC_URL ?? serverUrl,
      // the runs page then says "run a cell in JupyterLab" instead of how to set it up
      ...(withLab && !deployment ? { CELLMARK_LOCAL_LAB_URL: `http://${urlHost}:${labPort}/lab`, CELLMARK_LOCAL_LAB_PROJECT: localProject() } : {}),
      NEXT_TELEMETRY_DISABLED: '1',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
    // its own process group: a terminal's Ctrl-C (SIGINT to the foreground group) must not
    // stop it before JupyterLab's kernels have ended their runs on it (see the stop below)
    detached: true,
  });
  children.push(server);
  serverProcess = server;
  server.on('exit', (code) => {
    if (!shuttingDown) fail(`the server exited (${code})`);
  });
  return server;
}

function banner(credentials: LocalCredentials | null, lab: { url: string } | null): string[] {
  const lines = ['', `  Cellmark    ${serverUrl}`];
  if (credentials) lines.push(`  sign in     ${credentials.email} / ${credentials.password}   (kept in ${path.relative(root, credentialsFile)})`);
  else if (!deployment) lines.push('  sign in     with the account you created on first run');
  if (lab) {
    lines.push(`  JupyterLab  ${lab.url}`);
    lines.push(`              notebooks in ${path.relative(root, notebookDir) || notebookDir}`);
    if (credentials) lines.push(`              recording to ${credentials.project} with a local API token`);
    else lines.push('              set an API token in Settings → Cellmark to record runs');
  }
  lines.push(
    ['127.0.0.1', 'localhost', '::1'].includes(host)
      ? `  listening on ${host} only (this machine); HOST=0.0.0.0 npm start opens it to the network`
      : `  listening on ${host}: reachable from the network${deployment ? '' : ', and anyone who reaches it can sign up'}`,
  );
  return lines;
}

/**
 * Phases run side by side where they do not depend on each other: the web build and the
 * JupyterLab venv and extension; JupyterLab starts as soon as its extension is installed and
 * the local token is known (a later start: at once, while the server starts).
 */
async function main() {
  mkdirSync(dataDir, { recursive: true });
  const other = claimInstance(instanceFile);
  if (other) return reportRunning(other);
  process.on('exit', () => releaseInstance(instanceFile));
  const ports: [string, number][] = withLab
    ? [
        ['PORT', port],
        ['CELLMARK_LAB_PORT', labPort],
      ]
    : [['PORT', port]];
  for (const [variable, p] of ports) {
    if (!(await portFree(p))) fail(`port ${p} on ${host} is in use by another program: stop it or set ${variable}`);
  }

  const py = withLab ? python() : null;
  if (withLab && !py) log('python3 not found: starting the server only (install Python 3.9+ for the bundled JupyterLab)');
  const labPrepared = py ? prepareLab(py).then(() => true) : Promise.resolve(false);
  const serverUp = phase('web build (turbo, cached)', () =>
    run(path.join(root, 'node_modules/.bin/turbo'), ['run', 'build', '--filter=@cellmark/web', '--output-logs=errors-only'], {
      ...process.env,
      CELLMARK_BUILD_NO_TYPECHECK: '1',
      NEXT_TELEMETRY_DISABLED: '1',
      TURBO_TELEMETRY_DISABLED: '1',
    }),
  ).then(() =>
    phase('server: start until healthy', async () => {
      const started = Date.now();
      await waitForHealth(serverUrl, startServer(py !== null));
      log(`server healthy in ${seconds(Date.now() - started)}`);
    }),
  );
  if (!existsSync(path.join(root, 'web/.next/BUILD_ID'))) log('building the web UI (first run only)…');
  // a later start has the credentials already: JupyterLab need not wait for the server
  const kept = deployment || !existsSync(credentialsFile) ? null : (JSON.parse(readFileSync(credentialsFile, 'utf8')) as LocalCredentials);
  const credentials = kept ? Promise.resolve(kept) : serverUp.then(() => (deployment ? null : phase('local user (first run)', bootstrap)));
  const lab = Promise.all([labPrepared, credentials]).then(([ready, c]) => (ready ? phase('JupyterLab: start until answering', () => startLab(c)) : null));

  const [, c, l] = await Promise.all([serverUp, credentials, lab]);
  const lines = banner(c, l);
  markReady(instanceFile, serverUrl, lines);
  process.stdout.write(`${[...lines, '', '  Ctrl-C stops everything.'].join('\n')}\n\n`);
  log(
    `ready in ${seconds(Date.now() - t0)} (load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')})`,
  );
  if (showTimings) {
    for (const t of timings.sort((a, b) => a.from - b.from))
      log(`  ${t.phase.padEnd(36)} ${seconds(t.from).padStart(7)} → ${seconds(t.to).padStart(7)}  (${seconds(t.to - t.from)}, load ${t.load.toFixed(2)})`);
  }
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

// JupyterLab first: it shuts its kernels down, and each kernel ends its run on the server,
// which must still be up to hear it (else the run stays open until the crash sweep calls it
// crashed); then the server.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (shuttingDown) return;
    shuttingDown = true;
    log('stopping…');
    void Promise.all(children.filter((c) => c !== serverProcess).map((c) => stopChild(c, 20_000)))
      .then(() => serverProcess && stopChild(serverProcess, 30_000))
      .then(() => process.exit(0));
  });
}
// the server and JupyterLab are in process groups of their own: never leave them behind
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

main().catch((error: unknown) => fail((error as Error).message));
