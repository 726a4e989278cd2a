// The collab server as real processes: two of them on one Postgres share edits through
// LISTEN/NOTIFY; a process killed with SIGKILL mid-edit loses nothing any client saw.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { provider } from './collab-clients.ts';
import { eventually, trpcClient, userWithProject } from './helpers.ts';
import { type ServerProcess, startServerProcess, throwawayPostgres } from './server-processes.ts';

const providers: WebsocketProvider[] = [];
const processes: ServerProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  providers.forEach((p) => p.destroy());
  for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  for (const c of cleanups) await c();
});

async function start(env: Record<string, string>) {
  const p = await startServerProcess(env);
  processes.push(p);
  return p;
}

describe.skipIf(!process.env.DATABASE_URL)('two server processes on one Postgres', () => {
  it('an edit on one reaches a client on the other, both ways, and a restore from either', async () => {
    const { url, drop } = await throwawayPostgres();
    cleanups.push(drop);
    // both start at once: migrations serialise under the advisory lock
    const [a, b] = await Promise.all([start({ DATABASE_URL: url }), start({ DATABASE_URL: url })]);
    const owner = await userWithProject(a, 'owner');
    const { id: reportId } = await owner.api.reports.create.mutate({ projectId: owner.project.id, title: 'Across' });
    const onA = provider(a, reportId, owner, providers);
    const onB = provider(b, reportId, owner, providers);
    await eventually(() => expect(onA.provider.synced && onB.provider.synced).toBe(true), 10_000);

    onA.text.insert(0, 'from A. ');
    await eventually(() => expect(onB.text.toString()).toBe('from A. '));
    onB.text.insert(onB.text.length, 'from B.');
    await eventually(() => expect(onA.text.toString()).toBe('from A. from B.'));
    for (let i = 0; i < 30; i++) (i % 2 ? onA : onB).text.insert(0, String(i % 10));
    await eventually(() => expect(onA.text.toString()).toBe(onB.text.toString()));
    expect(onA.text.length).toBe(45);

    // a version restored through process B reaches the client on process A
    const viaB = trpcClient(b.url, { cookie: owner.cookie, origin: b.url });
    const v = await viaB.reportHistory.create.mutate({ reportId, name: 'mid' });
    onA.text.insert(0, 'later ');
    await eventually(() => expect(onB.text.toString()).toMatch(/^later /));
    await viaB.reportHistory.restore.mutate({ reportId, versionId: v.id });
    await eventually(() => expect(onA.text.toString()).not.toMatch(/^later /));
    await eventually(() => expect(onA.text.toString()).toBe(onB.text.toString()));
  }, 120_000);
});

describe('a server killed with SIGKILL while clients edit', () => {
  it('restarts with every change any client saw (state vectors compared)', async () => {
    let target: Record<string, string>;
    if (process.env.DATABASE_URL) {
      const { url, drop } = await throwawayPostgres();
      cleanups.push(drop);
      target = { DATABASE_URL: url };
    } else target = { CELLMARK_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'cellmark-kill-')) };
    const first = await start(target);
    const owner = await userWithProject(first, 'owner');
    const { id: reportId } = await owner.api.reports.create.mutate({ projectId: owner.project.id, title: 'Crash' });
    const clients = Array.from({ length: 3 }, () => provider(first, reportId, owner, providers));
    await eventually(() => expect(clients.every((c) => c.provider.synced)).toBe(true), 10_000);
    // what each client received from the server: that is what it "saw" confirmed
    const seen = clients.map((c) => {
      const doc = new Y.Doc();
      c.doc.on('update', (u: Uint8Array, origin: unknown) => origin === c.provider && Y.applyUpdate(doc, u));
      return doc;
    });
    let typing = true;
    const loops = clients.map(async (c, i) => {
      let n = 0;
      while (typing) {
        const at = Math.floor(Math.random() * (c.text.length + 1));
        if (n % 5 === 4 && c.text.length > 3) c.text.delete(Math.max(0, at - 2), 2);
        else c.text.insert(at, `${i}${n % 10}`);
        n++;
        await new Promise((r) => setTimeout(r, 3 + Math.random() * 5));
      }
    });
    await new Promise((r) => setTimeout(r, 1500));
    first.child.kill('SIGKILL');
    await first.exited;
    typing = false;
    await Promise.all(loops);
    clients.forEach((c) => c.provider.destroy());
    expect(seen.every((d) => d.getText('content').length > 0)).toBe(true);

    const second = await start(target);
    const check = provider(second, reportId, owner, providers);
    await eventually(() => expect(check.provider.synced).toBe(true), 10_000);
    const restored = check.doc;
    const vector = Y.encodeStateVector(restored);
    const text = restored.getText('content').toString();
    for (const doc of seen) {
      // the restored document already contains everything this client saw
      const sv = Y.decodeStateVector(Y.encodeStateVector(doc));
      const have = Y.decodeStateVector(vector);
      for (const [client, clock] of sv) expect(have.get(client) ?? 0).toBeGreaterThanOrEqual(clock);
      Y.applyUpdate(restored, Y.encodeStateAsUpdate(doc));
      expect(Y.encodeStateVector(restored)).toEqual(vector);
      expect(restored.getText('content').toString()).toBe(text);
    }
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 120_000);
});
