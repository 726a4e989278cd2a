// No ingest request may hold the event loop: the worst input of each ingest path is sent to a
// real server while a probe in another thread asks /healthz every 10 ms. Also prints, per
// path, the longest event-loop stall the request caused (a 2 ms interval timer's longest gap).
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, userWithProject } from './helpers.ts';

let server: TestServer;
let owner: Awaited<ReturnType<typeof userWithProject>>;
let runId: string;

beforeAll(async () => {
  server = await startTestServer();
  owner = await userWithProject(server, 'loop');
  ({ runId } = await owner.ingest.ingest.startRun.mutate({
    project: owner.projectPath,
    clientKey: 'loop-run-0001',
    notebookPath: 'a.ipynb',
    startedAt: new Date().toISOString(),
  }));
});
afterAll(() => server?.dispose());

const at = new Date(Date.UTC(2026, 10, 26, 10)).toISOString();
const cell = (n: number, outputs: unknown[]) => ({ executionKey: `loop-${n}`, source: `x = ${n}`, outputs, status: 'ok', startedAt: at, endedAt: at });
const png = (value: string) => ({ output_type: 'display_data', data: { 'image/png': value }, metadata: {} });
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

/** The worst input of each ingest path; each is [procedure, JSON body]. */
function worstInputs(): [string, string, string][] {
  const mib = 1024 * 1024;
  const big = 'A'.repeat(7 * mib);
  return [
    // quadratic on the old base64 pattern: seconds for one request
    ['whitespace base64', 'ingest.cells', JSON.stringify({ runId, cells: [cell(1, [png(`${' '.repeat(80_000)}!`)])] })],
    [
      '30 MiB body (4 × 7 MiB images)',
      'ingest.cells',
      JSON.stringify({ runId, cells: [0, 1, 2, 3].map((i) => cell(10 + i, [png(big.slice(i) + 'A'.repeat(i))])) }),
    ],
    [
      '5,000-deep nesting',
      'ingest.cells',
      `{"runId":"${runId}","cells":[{"executionKey":"deep","source":"","status":"ok","startedAt":"${at}","endedAt":"${at}","config":{"x":${nested(5000)}}}]}`,
    ],
    [
      '100k-point metrics batch',
      'ingest.metrics',
      JSON.stringify({
        runId,
        points: Array.from({ length: 100_000 }, (_, i) => ({ key: `train/k${i % 50}`, step: Math.floor(i / 50), value: i / 7, time: at })),
      }),
    ],
    [
      '500 cells × 40 outputs',
      'ingest.cells',
      JSON.stringify({
        runId,
        cells: Array.from({ length: 500 }, (_, i) =>
          cell(
            100 + i,
            Array.from({ length: 40 }, (_, j) => ({
              output_type: 'display_data',
              data: { 'text/plain': `${i}.${j} `.repeat(200), 'image/png': 'iVBORw0KGgo=' },
              metadata: {},
            })),
          ),
        ),
      }),
    ],
  ];
}

/** A probe thread: GET /healthz every 10 ms (not waiting for the last answer), latencies in ms. */
function startProbe(url: string) {
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const latencies = [];
     const timer = setInterval(() => {
       const t0 = performance.now();
       fetch(workerData + '/healthz').then((r) => r.arrayBuffer()).then(() => latencies.push(performance.now() - t0), () => latencies.push(Infinity));
     }, 10);
     parentPort.on('message', () => { clearInterval(timer); setTimeout(() => parentPort.postMessage(latencies), 200); });`,
    { eval: true, workerData: url },
  );
  return {
    stop: () =>
      new Promise<number[]>((resolve) => {
        worker.once('message', (latencies: number[]) => void worker.terminate().then(() => resolve(latencies)));
        worker.postMessage('stop');
      }),
  };
}

/** The longest gap between ticks of a 2 ms timer on this thread (the server's), beyond the 2 ms. */
function stallMeter() {
  let timer: NodeJS.Timeout | undefined;
  let last = 0;
  let max = 0;
  return {
    start() {
      max = 0;
      last = performance.now();
      timer = setInterval(() => {
        const now = performance.now();
        max = Math.max(max, now - last - 2);
        last = now;
      }, 2);
    },
    stop() {
      clearInterval(timer);
      return Math.max(max, performance.now() - last - 2);
    },
  };
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

describe('event loop', () => {
  it('stays responsive under the worst input of every ingest path (healthz p99 < 100 ms over the idle p99)', async () => {
    const inputs = worstInputs();
    const delay = stallMeter();
    // the machine's own latency first (a busy CI box adds its scheduling delays to every probe)
    const idleProbe = startProbe(server.url);
    await new Promise((r) => setTimeout(r, 1000));
    const idle = (await idleProbe.stop()).sort((a, b) => a - b);
    const probe = startProbe(server.url);
    await new Promise((r) => setTimeout(r, 300)); // let the probe warm up
    const stalls: Record<string, string> = {};
    const statuses: Record<string, number> = {};
    // sent from another thread: the client's own work (undici copies a 30 MiB body) is not the server's
    const sender = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       parentPort.on('message', async ({ procedure, body }) => {
         const started = performance.now();
         const res = await fetch(workerData.url + '/api/trpc/' + procedure, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + workerData.token }, body });
         await res.arrayBuffer();
         parentPort.postMessage({ status: res.status, ms: performance.now() - started });
       });`,
      { eval: true, workerData: { url: server.url, token: owner.token } },
    );
    try {
      for (const [name, procedure, body] of inputs) {
        delay.start();
        const answer = new Promise<{ status: number; ms: number }>((resolve) => sender.once('message', resolve));
        sender.postMessage({ procedure, body });
        const { status, ms } = await answer;
        stalls[name] = `HTTP ${status}, ${ms.toFixed(0)} ms, longest stall ${delay.stop().toFixed(0)} ms`;
        statuses[name] = status;
      }
    } finally {
      await sender.terminate();
    }
    const latencies = (await probe.stop()).sort((a, b) => a - b);
    const idleP99 = quantile(idle, 0.99);
    console.log({
      ...stalls,
      idleP99: idleP99.toFixed(1),
      probes: latencies.length,
      p50: quantile(latencies, 0.5).toFixed(1),
      p99: quantile(latencies, 0.99).toFixed(1),
      max: latencies.at(-1)!.toFixed(1),
    });
    for (const [name, status] of Object.entries(statuses)) expect(status, name).toBeLessThan(500);
    expect(latencies.length).toBeGreaterThan(100);
    // PGlite runs every query on the server's own thread (a 100k-point batch is seconds of
    // it): the bound holds for Postgres, where the database works in its own process
    if (server.database.kind === 'postgres') expect(quantile(latencies, 0.99)).toBeLessThan(100 + idleP99);
  }, 60_000);
});
