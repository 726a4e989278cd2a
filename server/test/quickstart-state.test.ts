// The quick start's state between runs (server/src/cli/local-state.ts): the extension change
// check, its kept secrets and the file that finds a running `npm start`.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { claimInstance, fingerprint, keptSecret, markReady, readyInstance, releaseInstance, sourceFiles } from '../src/cli/local-state.ts';

const repo = path.resolve(import.meta.dirname, '../..');

/** A git checkout holding a copy of the extension package's sources (nothing built yet). */
function checkoutOfExtension(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'cellmark-fingerprint-'));
  spawnSync('git', ['init', '-q'], { cwd: root });
  for (const file of sourceFiles(repo, 'jupyterlab-extension')) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    cpSync(path.join(repo, file), path.join(root, file));
  }
  return root;
}

const fingerprintOf = (root: string) => fingerprint(root, sourceFiles(root, 'jupyterlab-extension'));

describe('extension change check', () => {
  it('does not count what building and installing the extension writes into its folder', () => {
    const root = checkoutOfExtension();
    const before = fingerprintOf(root);
    const pkg = path.join(root, 'jupyterlab-extension');
    // the outputs as the package's own build configuration names them
    const pyproject = readFileSync(path.join(pkg, 'pyproject.toml'), 'utf8');
    const versionFile = /\[tool\.hatch\.build\.hooks\.version\]\s*path = "([^"]+)"/.exec(pyproject)![1]!;
    const { main, jupyterlab } = JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8')) as { main: string; jupyterlab: { outputDir: string } };
    const outputs = [
      versionFile,
      main,
      `${jupyterlab.outputDir}/package.json`,
      `${jupyterlab.outputDir}/static/style.js`,
      'tsconfig.build.tsbuildinfo',
      'cellmark/__pycache__/__init__.cpython-311.pyc',
      'node_modules/.package-lock.json',
      '.pytest_cache/v/cache/lastfailed',
      'jupyterlab_cellmark.egg-info/PKG-INFO',
    ];
    for (const output of outputs) {
      mkdirSync(path.dirname(path.join(pkg, output)), { recursive: true });
      writeFileSync(path.join(pkg, output), 'built\n');
    }
    writeFileSync(path.join(pkg, '.pytest_cache/.gitignore'), '*\n'); // as pytest writes it
    expect(fingerprintOf(root)).toBe(before);
  });

  it('changes when a source changes, is added or is removed', () => {
    const root = checkoutOfExtension();
    const before = fingerprintOf(root);
    const index = path.join(root, 'jupyterlab-extension/src/index.ts');
    const original = readFileSync(index, 'utf8');
    writeFileSync(index, `${original}// edited\n`);
    const edited = fingerprintOf(root);
    expect(edited).not.toBe(before);
    writeFileSync(index, original);
    expect(fingerprintOf(root)).toBe(before);
    writeFileSync(path.join(root, 'jupyterlab-extension/cellmark/new_module.py'), 'x = 1\n');
    expect(fingerprintOf(root)).not.toBe(before);
  });

  it('outside a git checkout still skips the build outputs', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'cellmark-fingerprint-nogit-'));
    cpSync(path.join(checkoutOfExtension(), 'jupyterlab-extension'), path.join(root, 'jupyterlab-extension'), { recursive: true });
    const before = fingerprintOf(root);
    writeFileSync(path.join(root, 'jupyterlab-extension/cellmark/_version.py'), "__version__ = '0.1.0'\n");
    mkdirSync(path.join(root, 'jupyterlab-extension/cellmark/labextension'), { recursive: true });
    writeFileSync(path.join(root, 'jupyterlab-extension/cellmark/labextension/package.json'), '{}');
    expect(fingerprintOf(root)).toBe(before);
    expect(sourceFiles(root, 'jupyterlab-extension')).toContain(path.join('jupyterlab-extension', 'src', 'index.ts'));
  });

  it('the repository itself: its extension folder lists no ignored file', () => {
    const ignored = spawnSync('git', ['check-ignore', '--stdin'], { cwd: repo, input: sourceFiles(repo, 'jupyterlab-extension').join('\n'), encoding: 'utf8' });
    expect(ignored.stdout).toBe('');
    expect(sourceFiles(repo, 'jupyterlab-extension')).toContain('jupyterlab-extension/pyproject.toml');
  });
});

describe('kept secrets', () => {
  it('the same value on every call, readable by the owner only', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'cellmark-secret-')), 'data', 'jupyterlab-token');
    let made = 0;
    const make = () => `token-${++made}`;
    expect(keptSecret(file, make)).toBe('token-1');
    expect(keptSecret(file, make)).toBe('token-1');
    expect(made).toBe(1);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});

describe('the running instance', () => {
  const file = () => path.join(mkdtempSync(path.join(tmpdir(), 'cellmark-instance-')), 'npm-start.json');

  it('the first claim wins; a second sees the first', () => {
    const f = file();
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      writeFileSync(f, JSON.stringify({ pid: other.pid }));
      expect(claimInstance(f)).toEqual({ pid: other.pid });
    } finally {
      other.kill();
    }
  });

  it('a file left by a process that is gone is taken over', async () => {
    const f = file();
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => gone.once('exit', r));
    writeFileSync(f, JSON.stringify({ pid: gone.pid }));
    expect(claimInstance(f)).toBeNull();
    expect(JSON.parse(readFileSync(f, 'utf8'))).toEqual({ pid: process.pid });
    releaseInstance(f);
    expect(claimInstance(f)).toBeNull();
  });

  it('is ready once its server answers /healthz, and not when it stops answering', async () => {
    const f = file();
    expect(claimInstance(f)).toBeNull();
    const server = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    markReady(f, url, ['', `  Cellmark    ${url}`]);
    expect(await readyInstance(f, 5_000)).toEqual({ pid: process.pid, cellmarkUrl: url, banner: ['', `  Cellmark    ${url}`] });
    await new Promise((r) => server.close(r));
    expect(await readyInstance(f, 5_000)).toBeNull();
  });
});
