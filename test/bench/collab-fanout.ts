// Fan-out: EDITORS simulated editors (default 50 y-websocket clients in Node) on one report,
// each typing RATE keystrokes a second for SECONDS, against a real server process on
// loopback. Reports the latency from a keystroke to its arrival at every other editor
// (p50/p99, target p99 ≤ 30 ms) and the server process's CPU. One command:
//   DATABASE_URL=postgres://… npx tsx test/bench/collab-fanout.ts
// SERVER_NODE_ARGS adds flags to the server's node (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
// or "--trace-gc"). The bench process's own event-loop delay is printed too: the 50 clients
// share one event loop, so a stall there shows up as fan-out latency the server did not cause.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { benchDatabase, intEnv, ms, percentiles } from './setup.ts';

const EDITORS = intEnv('EDITORS', 50);
const RATE = intEnv('RATE', 2);
const SECONDS = intEnv('SECONDS', 20);
const LOOP_RESOLUTION_MS = 2;

const { url: databaseUrl, drop } = await benchDatabase();
const port = 22000 + Math.floor(Math.random() * 10000);
const base = `http://127.0.0.1:${port}`;
const serverNodeArgs = (process.env.SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
const server = spawn(process.execPath, [...serverNodeArgs, '--import', 'tsx', path.resolve(import.meta.dirname, '../../server/src/main.ts')], {
  env: {
    PATH: process.env.PATH!,
    HOME: process.env.HOME ?? '/tmp',
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    CELLMARK_NO_WEB: '1',
    LOG_LEVEL: 'warn',
    CELLMARK_SECRET: 'bench-secret-that-is-long-enough-0123456789',
    NODE_ENV: 'development',
  } as NodeJS.ProcessEnv,
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
    if (server.exitCode !== null || server.signalCode !== null) throw new Error(`server exited (${server.exitCode ?? server.signalCode}) before it was ready`);
    if (i > 600) throw new Error('server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const signUp = await fetch(`${base}/api/auth/sign-up/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: base },
    body: JSON.stringify({ name: 'Bench', email: 'bench@example.test', password: 'correct horse battery' }),
  });
  if (!signUp.ok) throw new Error(`sign-up: ${signUp.status} ${await signUp.text()}`);
  // sign-up never signs in (see server/src/auth.ts)
  const signIn = await fetch(`${base}/api/auth/sign-in/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: base },
    body: JSON.stringify({ email: 'bench@example.test', password: 'correct horse battery' }),
  });
  const cookie = signIn.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const call = async (procedure: string, input: unknown) => {
    const res = await fetch(`${base}/api/trpc/${procedure}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify(input),
    });
    // biome-ignore lint/suspicious/noExplicitAny: a bench reads a field or two of answers it just asked for; any keeps each call one line
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
  /** [typed at (ms since t0), latency] of every delivery, for the worst windows */
  const arrivals: [number, number][] = [];
  let t0 = 0;
  let measuring = false;
  const editors = Array.from({ length: EDITORS }, () => {
    const doc = new Y.Doc();
    const provider = new WebsocketProvider(`ws://127.0.0.1:${port}/collab`, reportId, doc, { WebSocketPolyfill: Socket as never, disableBc: true });
    providers.push(provider);
    // A keystroke has arrived once it is in this editor's document: the clocks the provider's
    // transaction added, per author, are the keystrokes it brought (read from the transaction,
    // not by decoding every update a second time: 5,000 decodes a second of harness work that
    // competed with the server for the same two cores)
    doc.on('update', (_update: Uint8Array, origin: unknown, _doc: Y.Doc, transaction: Y.Transaction) => {
      if (origin !== provider || !measuring) return;
      const now = performance.now();
      transaction.afterState.forEach((after, client) => {
        if (client === doc.clientID) return; // our own echo
        for (let clock = transaction.beforeState.get(client) ?? 0; clock < after; clock++) {
          const at = typedAt.get(`${client}:${clock}`);
          if (at !== undefined) {
            latencies.push(now - at);
            arrivals.push([at - t0, now - at]);
          }
        }
      });
    });
    return { doc, provider };
  });
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (!editors.every((e) => e.provider.synced)) return;
      clearInterval(check);
      resolve();
    }, 20);
  });
  console.log(`${EDITORS} editors connected and synced; typing ${RATE}/s each for ${SECONDS} s`);

  const pid = server.pid!;
  measuring = true;
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loopDelay.enable();
  const cpu0 = cpuSeconds(pid);
  const self0 = process.cpuUsage();
  t0 = performance.now();
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
  loopDelay.disable();

  const expected = typed * (EDITORS - 1);
  const { p50, p99, n } = percentiles(latencies);
  // is the tail spread out or a few bursts? the worst half-seconds by slowest delivery
  const windows = new Map<number, { max: number; over: number; n: number }>();
  for (const [at, latency] of arrivals) {
    const w = windows.get(Math.floor(at / 500)) ?? { max: 0, over: 0, n: 0 };
    windows.set(Math.floor(at / 500), { max: Math.max(w.max, latency), over: w.over + (latency > 30 ? 1 : 0), n: w.n + 1 });
  }
  const worst = [...windows].sort((a, b) => b[1].max - a[1].max).slice(0, 5);
  console.log(
    `worst half-seconds (typed at: slowest, deliveries > 30 ms of all): ${worst.map(([w, v]) => `${(w / 2).toFixed(1)} s: ${v.max.toFixed(0)} ms, ${v.over}/${v.n}`).join('; ')}`,
  );
  const texts = new Set(editors.map((e) => e.doc.getText('content').toString()));
  console.log(`keystrokes: ${typed} (${(typed / SECONDS).toFixed(0)}/s); deliveries measured ${n} of ${expected} (${((n / expected) * 100).toFixed(1)}%)`);
  const sorted = [...latencies].sort((a, b) => a - b);
  console.log(
    `fan-out latency: p50 ${ms(p50)}  p90 ${ms(sorted[Math.floor(n * 0.9)]!)}  p99 ${ms(p99)}  p99.9 ${ms(sorted[Math.floor(n * 0.999)]!)}  max ${ms(sorted[n - 1]!)}   target p99 ≤ 30 ms: ${p99 <= 30 ? 'met' : 'MISSED'}`,
  );
  console.log(
    `server CPU: ${serverCpu.toFixed(2)} s over ${wall.toFixed(1)} s = ${((serverCpu / wall) * 100).toFixed(0)}% of one core; ${((serverCpu / typed) * 1000).toFixed(2)} ms per keystroke`,
  );
  console.log(
    `bench process (the ${EDITORS} clients) CPU: ${(((self.user + self.system) / 1e6 / wall) * 100).toFixed(0)}% of one core; ${texts.size === 1 ? 'all editors converged' : `${texts.size} different documents!`}`,
  );
  // the histogram holds whole sampling intervals: the delay is what exceeds the resolution
  const delay = (ns: number) => ms(Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS));
  console.log(`bench process event-loop delay: p50 ${delay(loopDelay.percentile(50))}  p99 ${delay(loopDelay.percentile(99))}  max ${delay(loopDelay.max)}`);
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  providers.forEach((p) => p.destroy());
  // (a server that already exited would never emit 'exit' again: do not wait for it)
  if (server.exitCode === null && server.signalCode === null) {
    const exited = new Promise((r) => server.on('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  await drop();
  // something of the 50 clients' (ws/y-websocket) keeps the loop alive after destroy():
  // without this the bench printed its figures and then never exited
  process.exit();
}
