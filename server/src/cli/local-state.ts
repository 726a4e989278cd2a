// What the quick start keeps between runs in its data dir and venv: the fingerprint that says
// the extension is already built and installed, secrets that must stay stable, and the file
// that says an `npm start` is already running on this data dir.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Build outputs and caches inside a package, never inputs (used where git cannot tell). */
const GENERATED = new Set(['node_modules', 'lib', 'labextension', '_version.py', '__pycache__', '.pytest_cache', '.ipynb_checkpoints']);

/**
 * The source files of `dir` (relative to `root`, sorted): what git sees there, tracked or new
 * but not ignored, so nothing a build writes (every output is in a .gitignore) can count as a
 * change. Outside a git checkout, a walk that skips the known outputs.
 */
export function sourceFiles(root: string, dir: string): string[] {
  const git = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', dir], { cwd: root, encoding: 'utf8' });
  if (git.status === 0 && git.stdout) {
    // --cached lists files deleted from the working tree too
    return git.stdout
      .split('\0')
      .filter((f) => f && existsSync(path.join(root, f)))
      .sort();
  }
  const files: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(path.join(root, rel)).sort()) {
      if (GENERATED.has(entry) || entry.endsWith('.tsbuildinfo') || entry.endsWith('.egg-info')) continue;
      const child = path.join(rel, entry);
      if (statSync(path.join(root, child)).isDirectory()) walk(child);
      else files.push(child);
    }
  };
  walk(dir);
  return files;
}

/** Hash of the names and contents of `files` (relative to `root`). */
export function fingerprint(root: string, files: string[]): string {
  const hash = createHash('sha256');
  for (const file of files)
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(path.join(root, file)))
      .update('\0');
  return hash.digest('hex');
}

/** A secret kept in `file` (0600), created by `make` the first time. */
export function keptSecret(file: string, make: () => string): string {
  if (existsSync(file)) {
    const kept = readFileSync(file, 'utf8').trim();
    if (kept) return kept;
  }
  mkdirSync(path.dirname(file), { recursive: true });
  const secret = make();
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

/** A running quick start, as its instance file describes it. */
export interface Instance {
  pid: number;
  /** set once it is ready: the Cellmark URL its health is probed on */
  cellmarkUrl?: string;
  /** set once it is ready: the lines it printed (URLs, sign-in) */
  banner?: string[];
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readInstance(file: string): Instance | null {
  try {
    const instance = JSON.parse(readFileSync(file, 'utf8')) as Instance;
    return Number.isInteger(instance.pid) && instance.pid > 0 ? instance : null;
  } catch {
    return null; // absent, or half-written by a process that died
  }
}

/**
 * Makes this process the data dir's quick start, or returns the live one that already is.
 * Creating the file exclusively decides a race between two starts; a file left by a process
 * that is gone is removed.
 */
export function claimInstance(file: string): Instance | null {
  for (;;) {
    try {
      writeFileSync(file, JSON.stringify({ pid: process.pid } satisfies Instance), { flag: 'wx', mode: 0o600 });
      return null;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const other = readInstance(file);
    if (other && other.pid !== process.pid && isAlive(other.pid)) return other;
    rmSync(file, { force: true });
  }
}

export function markReady(file: string, cellmarkUrl: string, banner: string[]) {
  writeFileSync(file, JSON.stringify({ pid: process.pid, cellmarkUrl, banner } satisfies Instance, null, 2), { mode: 0o600 });
}

/** Removes the instance file if it is this process's. */
export function releaseInstance(file: string) {
  if (readInstance(file)?.pid === process.pid) rmSync(file, { force: true });
}

/**
 * Waits for the running instance to be ready and healthy (its server answering /healthz);
 * null when it died or stopped answering meanwhile.
 */
export async function readyInstance(file: string, timeoutMs: number): Promise<Instance | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const instance = readInstance(file);
    if (!instance || !isAlive(instance.pid)) return null;
    if (instance.cellmarkUrl && instance.banner) {
      const healthy = await fetch(`${instance.cellmarkUrl}/healthz`, { signal: AbortSignal.timeout(5_000) }).then(
        (r) => r.ok,
        () => false,
      );
      return healthy ? instance : null;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return null;
}
