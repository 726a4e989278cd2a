// `npm start`: build what is needed, start Cellmark on its embedded Postgres and, when
// Python is available, a JupyterLab with the extension already configured against it.
// Local use only: it creates a local user and token on first run, which a deployment
// (NODE_ENV=production, or --no-bootstrap) never does.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const args = new Set(process.argv.slice(2));
const withLab = !args.has('--no-lab');
const deployment = process.env.NODE_ENV === 'production' || args.has('--no-bootstrap');
const port = Number(process.env.PORT ?? 3000);
const labPort = Number(process.env.CELLMARK_LAB_PORT ?? 8888);
const dataDir = path.resolve(root, process.env.CELLMARK_DATA_DIR ?? '.cellmark');
const venv = path.join(root, '.venv');
const serverUrl = `http://localhost:${port}`;
const children: ChildProcess[] = [];
/** the Cellmark server among the children: stopped last */
let serverProcess: ChildProcess | null = null;

function log(message: string) {
  process.stdout.write(`\x1b[36mcellmark\x1b[0m ${message}\n`);
}

function fail(message: string): never {
  process.stderr.write(`cellmark: ${message}\n`);
  for (const child of children) child.kill('SIGTERM');
  process.exit(1);
}

function run(command: string, argv: string[], options: { env?: NodeJS.ProcessEnv; quiet?: boolean } = {}) {
  const result = spawnSync(command, argv, { cwd: root, env: options.env ?? process.env, stdio: options.quiet ? 'pipe' : 'inherit', encoding: 'utf8' });
  if (result.status !== 0) {
    if (options.quiet) process.stderr.write(`${result.stdout ?? ''}${result.stderr ?? ''}`);
    fail(`"${command} ${argv.join(' ')}" failed (exit ${result.status ?? result.signal})`);
  }
  return result.stdout ?? '';
}

/** A secret kept in the data dir, so sessions survive restarts of the local server. */
function localSecret(): string {
  const file = path.join(dataDir, 'secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

async function waitForHealth(url: string, child: ChildProcess, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) fail('the server exited during start-up (see above)');
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 200));
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
  const file = path.join(dataDir, 'local-credentials.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as LocalCredentials).project : LOCAL_WORKSPACE.path;
}

/** First run only: creates the local user, team, project and token through the public API. */
async function bootstrap(): Promise<LocalCredentials | null> {
  const file = path.join(dataDir, 'local-credentials.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as LocalCredentials;
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
  writeFileSync(file, JSON.stringify(credentials, null, 2), { mode: 0o600 });
  return credentials;
}

/** Hash of the extension's sources, to rebuild and reinstall only when they changed. */
function extensionFingerprint(): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir).sort()) {
      const full = path.join(dir, entry);
      if (['node_modules', 'lib', 'labextension', '__pycache__', '.ipynb_checkpoints'].includes(entry)) continue;
      if (statSync(full).isDirectory()) walk(full);
      else hash.update(full).update(readFileSync(full));
    }
  };
  walk(path.join(root, 'jupyterlab-extension'));
  return hash.digest('hex');
}

function python(): string | null {
  for (const candidate of ['python3', 'python']) {
    if (spawnSync(candidate, ['--version'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  return null;
}

function prepareLab(): boolean {
  const py = python();
  if (!py) {
    log('python3 not found: starting the server only (install Python 3.9+ for the bundled JupyterLab)');
    return false;
  }
  const bin = path.join(venv, 'bin');
  const env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}`, VIRTUAL_ENV: venv };
  if (!existsSync(path.join(bin, 'jupyter-lab'))) {
    log('creating .venv with JupyterLab (first run only, about a minute)…');
    run(py, ['-m', 'venv', venv]);
    run(path.join(bin, 'pip'), ['install', '--quiet', '--disable-pip-version-check', 'jupyterlab>=4.6,<4.7'], { env });
  }
  const stamp = path.join(dataDir, 'extension-fingerprint');
  const fingerprint = extensionFingerprint();
  const installed = existsSync(stamp) && readFileSync(stamp, 'utf8') === fingerprint;
  if (!installed) {
    log('building and installing the JupyterLab extension…');
    run('npm', ['run', 'build:prod', '-w', '@cellmark/jupyterlab'], { env, quiet: true });
    run(path.join(bin, 'pip'), ['install', '--quiet', '--disable-pip-version-check', '--force-reinstall', '--no-deps', './jupyterlab-extension'], { env });
    writeFileSync(stamp, fingerprint);
  }
  return true;
}

async function startLab(credentials: LocalCredentials | null): Promise<{ url: string }> {
  const bin = path.join(venv, 'bin');
  const notebooks = path.resolve(root, process.env.CELLMARK_NOTEBOOK_DIR ?? path.join(dataDir, 'notebooks'));
  mkdirSync(notebooks, { recursive: true });
  // Settings for the extension, applied as JupyterLab defaults for this venv only.
  const settingsDir = path.join(venv, 'share', 'jupyter', 'lab', 'settings');
  mkdirSync(settingsDir, { recursive: true });
  const overrides = {
    '@cellmark/jupyterlab:plugin': credentials ? { serverUrl, apiToken: credentials.token, project: credentials.project } : { serverUrl },
    // works offline: no "get news?" prompt, no update checks against the internet
    '@jupyterlab/apputils-extension:notification': { fetchNews: 'false', checkForUpdates: false },
  };
  writeFileSync(path.join(settingsDir, 'overrides.json'), JSON.stringify(overrides, null, 2));
  const labToken = randomBytes(16).toString('hex');
  const argv = [
    'lab',
    '--no-browser',
    `--port=${labPort}`,
    '--ServerApp.port_retries=0',
    `--ServerApp.root_dir=${notebooks}`,
    `--IdentityProvider.token=${labToken}`,
  ];
  if (process.getuid?.() === 0) argv.push('--allow-root');
  const lab = spawn(path.join(bin, 'jupyter'), argv, {
    cwd: notebooks,
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
  const base = `http://localhost:${labPort}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (lab.exitCode !== null) fail(`JupyterLab exited during start-up:\n${lastLines}`);
    if (Date.now() > deadline) fail(`JupyterLab did not answer on ${base} within 120 s:\n${lastLines}`);
    const ok = await fetch(`${base}/api/status?token=${labToken}`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url: `${base}/lab?token=${labToken}` };
}

let shuttingDown = false;

async function main() {
  mkdirSync(dataDir, { recursive: true });
  log('building the web UI (cached after the first time)…');
  run('npx', ['turbo', 'run', 'build', '--filter=@cellmark/web', '--output-logs=errors-only'], {
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', TURBO_TELEMETRY_DISABLED: '1' },
  });
  const labReady = withLab && prepareLab();

  const server = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'server/src/main.ts')], {
    cwd: root,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(port),
      CELLMARK_DATA_DIR: dataDir,
      // a deployment must bring its own secret (the server refuses to start without one)
      CELLMARK_SECRET: process.env.CELLMARK_SECRET ?? (deployment ? undefined : localSecret()),
      CELLMARK_PUBLIC_URL: process.env.CELLMARK_PUBLIC_URL ?? serverUrl,
      // the runs page then says "run a cell in JupyterLab" instead of how to set it up
      ...(labReady && !deployment ? { CELLMARK_LOCAL_LAB_URL: `http://localhost:${labPort}/lab`, CELLMARK_LOCAL_LAB_PROJECT: localProject() } : {}),
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
  const started = Date.now();
  await waitForHealth(serverUrl, server);
  log(`server healthy in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const credentials = deployment ? null : await bootstrap();
  const lab = labReady ? await startLab(credentials) : null;

  const lines = ['', `  Cellmark    ${serverUrl}`];
  if (credentials)
    lines.push(`  sign in     ${credentials.email} / ${credentials.password}   (kept in ${path.relative(root, path.join(dataDir, 'local-credentials.json'))})`);
  else if (!deployment) lines.push('  sign in     with the account you created on first run');
  if (lab) {
    lines.push(`  JupyterLab  ${lab.url}`);
    if (credentials) lines.push(`              recording to ${credentials.project} with a local API token`);
    else lines.push('              set an API token in Settings → Cellmark to record runs');
  }
  lines.push('', '  Ctrl-C stops everything.', '');
  process.stdout.write(`${lines.join('\n')}\n`);
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
