// A full disk under the embedded database. PGlite cannot survive ENOSPC in its WAL or a
// checkpoint: the next statement spins in wasm for ever, holding the event loop (found by the
// soak's fault run: every request and /healthz hung until kill -9). createDb keeps
// MIN_FREE_BYTES free instead: statements are refused at once with an ENOSPC-coded error (a
// 503 upstream) while the disk is full, and work again once space is freed, with no restart.
// Needs root (mount -t tmpfs), as CI runs; the PGlite side runs in a child process watched
// from here, since a hung PGlite would hang this test's own event loop too.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = process.getuid?.() === 0;
const fixture = path.join(import.meta.dirname, 'fixtures/pglite-disk-full.ts');

function runChild(mount: string, minFreeMiB: number, timeoutMs: number) {
  return new Promise<{ steps: Record<string, unknown>[]; timedOut: boolean; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, mount, String(minFreeMiB)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve({
        steps: out
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>),
        timedOut,
        stderr,
      });
    });
  });
}

describe.skipIf(!root)('a full disk under PGlite (root: tmpfs)', () => {
  const mount = mkdtempSync(path.join(tmpdir(), 'cellmark-full-'));
  afterAll(() => {
    try {
      execFileSync('umount', [mount]);
    } catch {}
    rmSync(mount, { recursive: true, force: true });
  });

  it('refuses statements at once while the disk is full and works again once space is freed', async () => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=160m', 'tmpfs', mount]);
    const { steps, timedOut, stderr } = await runChild(mount, 48, 60_000);
    expect(timedOut, `PGlite hung; steps done: ${JSON.stringify(steps)} ${stderr}`).toBe(false);
    const step = (name: string) => steps.find((s) => s.step === name);
    for (const name of ['insert while full', 'wal switch while full', 'checkpoint while full', 'insert after the checkpoint', 'ping while full']) {
      expect(step(name), name).toMatchObject({
        ok: false,
        code: 'ENOSPC',
        name: 'StorageFullError',
        message: expect.stringMatching(/MiB free, under the 48 MiB/),
      });
      expect(step(name)!.ms as number).toBeLessThan(1000);
    }
    expect(step('insert after freeing')).toMatchObject({ ok: true });
    expect(step('count')).toMatchObject({ n: 101 });
    expect(step('closed')).toMatchObject({ ok: true });
  }, 90_000);
});
