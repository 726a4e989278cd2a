// Fan-out: EDITORS simulated editors (default 50 y-websocket clients in Node) on one report,
// each typing RATE keystrokes a second for SECONDS, against a real server process on
// loopback. Reports the latency from a keystroke to its arrival at every other editor
// (p50/p99, target p99 ≤ 30 ms) and the server process's CPU. One command:
//   DATABASE_URL=postgres://… npx tsx test/bench/collab-fanout.ts
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { benchDatabase, intEnv, ms, percentiles } from './setup.ts';

const EDITORS = intEnv('EDITORS', 50);
const RATE = intEnv('RATE', 2);
const SECONDS = intEnv('SECONDS', 20);

const { url: databaseUrl, drop } = await benchDatabase();
const port = 22000 + Math.floor(Math.random() * 10000);
const base = `http://127.0.0.1:${port}`;
const server = spawn(process.execPath, ['--import', 'tsx', path.resolve(import.meta.dirname, '../../server/src/main.ts')], {
  env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', DATABASE_URL: databaseUrl, PORT: String(port), HOST: '127.0.0.1', CELLMARK_NO_WEB: '1', LOG_LEVEL: 'warn', CELLMARK_SECRET: 'bench-secret-that-is-long-enough-0123456789', NODE_ENV: 'development' } as NodeJS.ProcessEnv,
  stdio: ['ignore', 'inherit', 'inherit'],
});
const providers: WebsocketProvider[] = [];

/** utime + stime of a process, in seconds (Linux). */
function cpuSeconds(pid: number) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

try {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {}
    if (i > 600) throw new Error('server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const signUp = await fetch(`${base}/api/auth/sign-up/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: base },
    body: JSON.stringify({ name: 'Bench', email: 'bench@example.test', password: 'correct horse battery' }),
  });
  const cookie = signUp.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const call = async (procedure: string, input: unknown) => {
    const res = await fetch(`${base}/api/trpc/${procedure}`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify(input) });
    return ((await res.json()) as { result: { data: any } }).result.data;
  };
  const { project } = await call('setup.createWorkspace', { teamName: 'Bench', projectName: 'Bench' });
  const { id: reportId } = await call('reports.create', { projectId: project.id, title: 'Fan-out' });

  const Socket = class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers: { cookie } });
    }
  };
  // keystroke (clientID:clock) → when it was typed
  const typedAt = new Map<string, number>();
  const latencies: number[] = [];
  let measuring = false;
  const editors = Array.from({ length: EDITORS }, () => {
    const doc = new Y.Doc();
    const provider = new WebsocketProvider(`ws://127.0.0.1:${port}/collab`, reportId, doc, { WebSocketPolyfill: Socket as never, disableBc: true });
    providers.push(provider);
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== provider || !measuring) return;
      const now = performance.now();
      for (const struct of Y.decodeUpdate(update).structs) {
        if (struct.id.client === doc.clientID) continue; // our own echo
        const at = typedAt.get(`${struct.id.client}:${struct.id.clock}`);
        if (at !== undefined) latencies.push(now - at);
      }
    });
    return { doc, provider };
  });
  await new Promise<void>((resolve) => {
    const check = setInterval(() => editors.every((e) => e.provider.synced) && (clearInterval(check), resolve()), 20);
  });
  console.log(`${EDITORS} editors connected and synced; typing ${RATE}/s each for ${SECONDS} s`);

  const pid = server.pid!;
  measuring = true;
  const cpu0 = cpuSeconds(pid);
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  let typed = 0;
  await Promise.all(
    editors.map(async ({ doc }, i) => {
      await new Promise((r) => setTimeout(r, (i / EDITORS) * (1000 / RATE)));
      const end = t0 + SECONDS * 1000;
      while (performance.now() < end) {
        const text = doc.getText('content');
        typedAt.set(`${doc.clientID}:${Y.getState(doc.store, doc.clientID)}`, performance.now());
        text.insert(Math.floor(Math.random() * (text.length + 1)), String.fromCharCode(97 + (typed++ % 26)));
        await new Promise((r) => setTimeout(r, 1000 / RATE));
      }
    }),
  );
  await new Promise((r) => setTimeout(r, 1000)); // let the last keystrokes arrive
  const wall = (performance.now() - t0) / 1000;
  const serverCpu = cpuSeconds(pid) - cpu0;
  const self = process.cpuUsage(self0);
  measuring = false;

  const expected = typed * (EDITORS - 1);
  const { p50, p99, n } = percentiles(latencies);
  const texts = new Set(editors.map((e) => e.doc.getText('content').toString()));
  console.log(`keystrokes: ${typed} (${(typed / SECONDS).toFixed(0)}/s); deliveries measured ${n} of ${expected} (${((n / expected) * 100).toFixed(1)}%)`);
  console.log(`fan-out latency: p50 ${ms(p50)}  p99 ${ms(p99)}  max ${ms(Math.max(...latencies))}   target p99 ≤ 30 ms: ${p99 <= 30 ? 'met' : 'MISSED'}`);
  console.log(`server CPU: ${serverCpu.toFixed(2)} s over ${wall.toFixed(1)} s = ${((serverCpu / wall) * 100).toFixed(0)}% of one core; ${((serverCpu / typed) * 1000).toFixed(2)} ms per keystroke`);
  console.log(`bench process (the ${EDITORS} clients) CPU: ${(((self.user + self.system) / 1e6 / wall) * 100).toFixed(0)}% of one core; ${texts.size === 1 ? 'all editors converged' : `${texts.size} different documents!`}`);
} finally {
  providers.forEach((p) => p.destroy());
  server.kill('SIGTERM');
  await new Promise((r) => server.on('exit', r));
  await drop();
}
