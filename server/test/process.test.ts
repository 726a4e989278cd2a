// The real server process: start-up failures, graceful shutdown with a request in flight.
import { existsSync, mkdtempSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnServerProcess, startServerProcess } from './server-processes.ts';

describe('server process', () => {
  it('exits non-zero with one clear line when DATABASE_URL is unreachable', async () => {
    const p = await spawnServerProcess({ DATABASE_URL: 'postgres://cellmark:x@127.0.0.1:9/cellmark' });
    expect(await p.exited).toBe(1);
    expect(p.stderr().trim().split('\n')).toEqual(['cellmark: cannot connect to Postgres at 127.0.0.1:9/cellmark: connect ECONNREFUSED 127.0.0.1:9']);
  });

  it('rejects an invalid environment in one line', async () => {
    const p = await spawnServerProcess({ PORT: 'eighty' });
    expect(await p.exited).toBe(1);
    expect(p.stderr()).toMatch(/^cellmark: invalid environment: PORT: /);
    expect(p.stderr().trim().split('\n')).toHaveLength(1);
  });

  it('on SIGTERM finishes the request in flight, closes the database and exits 0', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'cellmark-proc-'));
    const p = await startServerProcess({ CELLMARK_DATA_DIR: dataDir });
    const base = p.url;

    // A slow upload: headers now, body later, SIGTERM in between.
    const body = JSON.stringify({ runId: '00000000-0000-4000-8000-000000000000', cells: [] });
    const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(`${base}/api/trpc/ingest.cells`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => {
        p.child.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(10)), 300);
      }, 200);
    });
    const { status, text } = await response;
    expect(status).toBe(401); // a complete, real answer, not a reset connection
    expect(text).toMatch(/missing API token/);
    expect(await p.exited).toBe(0);
    expect(existsSync(path.join(dataDir, 'pgdata', 'cellmark.pid'))).toBe(false); // database closed
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  }, 90_000);
});
