// Load and soak (issue 12): NOTEBOOKS simulated notebooks logging metrics at HZ and running a
// cell every few seconds (both capture paths), EDITORS y-websocket editors typing into REPORTS
// reports and READERS chart readers, for SOAK_SECONDS, against real server processes; then
// every acknowledged record is read back. One server on the database, then two server
// processes on the same Postgres with the clients going round-robin between them (edits
// converge across processes through LISTEN/NOTIFY). With `--faults`: kill -9 of a server and
// of Postgres (a private cluster) during the soak, then a full disk under PGlite (a tmpfs).
//   DATABASE_URL=postgres://… npx tsx test/bench/soak.ts            (unset: PGlite, one server)
//   DATABASE_URL=postgres://… npx tsx test/bench/soak.ts --faults
// Knobs: SOAK_SECONDS=600, SOAK_NOTEBOOKS=100, SOAK_EDITORS=20, SOAK_READERS=10, SOAK_REPORTS=4,
// SOAK_HZ=10, SOAK_KEYS=3, SOAK_CELL_MS=4000, SOAK_SERVERS=1,2 (which scenarios), SOAK_SAMPLE_MS=10000,
// SOAK_REST_GROWTH_MIB=32 (V8 heap after a full GC at rest, after the load minus before it), SOAK_FAULTS=postgres,disk, SOAK_DISK_MIB=192. Exit code 1 when a property fails.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Api, Recorder } from './soak/api.ts';
import { Collab, checkWords, Editor, readCharts } from './soak/editors.ts';
import { OwnPostgres, ServerProcess, SmallDisk, startSampler, throwawayDatabase } from './soak/infra.ts';
import { Notebook } from './soak/notebook.ts';
import { type Fault, printReport } from './soak/report.ts';
import { readBack } from './soak/verify.ts';

const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const knobs = {
  seconds: env('SOAK_SECONDS', 600),
  notebooks: env('SOAK_NOTEBOOKS', 100),
  editors: env('SOAK_EDITORS', 20),
  readers: env('SOAK_READERS', 10),
  reports: env('SOAK_REPORTS', 4),
  hz: env('SOAK_HZ', 10),
  keys: env('SOAK_KEYS', 3),
  cellMs: env('SOAK_CELL_MS', 4000),
  sampleMs: env('SOAK_SAMPLE_MS', 10_000),
  restGrowthMiB: env('SOAK_REST_GROWTH_MIB', 32),
};
const faults = process.argv.includes('--faults');
// y-websocket's provider adds a process 'exit' listener each (to say goodbye to its peers)
process.setMaxListeners(knobs.editors + 2 * knobs.reports + 10);
/** which fault runs (SOAK_FAULTS): a private Postgres with kills, PGlite on a full disk */
const faultSets = (process.env.SOAK_FAULTS ?? 'postgres,disk').split(',');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Storage = { kind: 'postgres'; url: string; private?: OwnPostgres } | { kind: 'pglite'; dataDir: string; disk?: SmallDisk };
interface Scenario {
  name: string;
  servers: number;
  storage: Storage;
  /** fault name → what to do at a fraction of the soak; returns how to undo it */
  faults: {
    at: number;
    name: string;
    hold: number;
    inject: (servers: ServerProcess[]) => Promise<void> | void;
    recover: (servers: ServerProcess[]) => Promise<void> | void;
  }[];
}

async function signIn(base: string) {
  const res = await fetch(`${base}/api/auth/sign-up/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: base },
    body: JSON.stringify({ name: 'Soak', email: 'soak@example.test', password: 'correct horse battery' }),
  });
  if (!res.ok) throw new Error(`sign-up: ${res.status} ${await res.text()}`);
  // sign-up never signs in (see server/src/auth.ts)
  const signedIn = await fetch(`${base}/api/auth/sign-in/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: base },
    body: JSON.stringify({ email: 'soak@example.test', password: 'correct horse battery' }),
  });
  if (!signedIn.ok) throw new Error(`sign-in: ${signedIn.status} ${await signedIn.text()}`);
  return signedIn.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
}

/** Progress on stderr, so that a phase that never ends says which it is. */
const phase = (t0: number, what: string) => console.error(`  [${((performance.now() - t0) / 1000).toFixed(1)} s] ${what}`);

async function runScenario(scenario: Scenario): Promise<boolean> {
  const { storage } = scenario;
  console.log(
    `\n== ${scenario.name}: ${scenario.servers} server(s) on ${storage.kind}; ${knobs.notebooks} notebooks × ${knobs.hz} Hz × ${knobs.keys} keys, ${knobs.editors} editors on ${knobs.reports} reports, ${knobs.readers} readers, ${knobs.seconds} s; load average ${(await import('node:fs')).readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
  );
  const serverEnv: Record<string, string> =
    storage.kind === 'postgres'
      ? { DATABASE_URL: storage.url, CELLMARK_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'cellmark-soak-data-')) }
      : { CELLMARK_DATA_DIR: storage.dataDir };
  const servers = await Promise.all(Array.from({ length: scenario.servers }, () => ServerProcess.create(serverEnv)));
  for (const s of servers) await s.start(); // one after the other: migrations run once
  const urls = servers.map((s) => s.url);
  const recorder = new Recorder();
  const api = new Api(urls, recorder);
  const collab = new Collab(urls, '', recorder);
  const faultLog: Fault[] = [];
  let sampler: ReturnType<typeof startSampler> | undefined;
  try {
    const cookie = await signIn(urls[0]!);
    collab.cookie = cookie;
    const session = { cookie };
    const { project, team } = await api.call('setup.createWorkspace', { teamName: 'Soak', projectName: 'Soak' }, session);
    const { token } = await api.call('tokens.create', { name: 'soak' }, session);
    const reportIds: string[] = [];
    for (let i = 0; i < knobs.reports; i++) reportIds.push((await api.call('reports.create', { projectId: project.id, title: `Soak ${i}` }, session)).id);

    const notebooks = Array.from(
      { length: knobs.notebooks },
      (_, i) => new Notebook(api, { token }, `${team.slug}/${project.slug}`, i, { hz: knobs.hz, keys: knobs.keys, cellEveryMs: knobs.cellMs, imageEvery: 8 }),
    );
    await Promise.all(notebooks.map((n) => n.start()));
    const editors = Array.from({ length: knobs.editors }, (_, i) => new Editor(collab, reportIds[i % reportIds.length]!, i));
    const syncDeadline = Date.now() + 30_000;
    while (!editors.every((e) => e.provider.synced)) {
      if (Date.now() > syncDeadline) throw new Error('editors did not sync within 30 s');
      await sleep(50);
    }
    // the heap at rest before the load and after it (below): what the load left behind
    const restBefore = await Promise.all(servers.map((s) => s.heapAfterGcMiB()));
    const start = performance.now();
    sampler = startSampler(
      servers,
      storage.kind === 'postgres' ? { url: storage.url } : { dir: path.join(storage.dataDir, 'pgdata') },
      recorder.t0,
      knobs.sampleMs,
    );
    const until = start + knobs.seconds * 1000;
    // Writes retry until acknowledged, but not without end: 60 s after the load a call still
    // failing is given up and reported (with its failures) instead of holding the soak forever.
    api.giveUpAt = recorder.now() + knobs.seconds * 1000 + 60_000;
    const runIds = () => notebooks.map((n) => n.runId);
    const work = [
      ...notebooks.map((n) => n.run(until)),
      ...editors.map((e) => e.run(until, 1500)),
      ...Array.from({ length: knobs.readers }, () => readCharts(api, session, project.id, runIds, until, 1000)),
      ...scenario.faults.map(async (f) => {
        await sleep(f.at * knobs.seconds * 1000);
        const fault: Fault = { name: f.name, start: recorder.now(), recovered: NaN, healthy: NaN };
        faultLog.push(fault);
        console.log(`  ${(fault.start / 1000).toFixed(1)} s: ${f.name}`);
        await f.inject(servers);
        await sleep(f.hold);
        fault.recovered = recorder.now();
        await f.recover(servers);
        // healthy again: every server's /healthz answers 200
        for (;;) {
          const ok = await Promise.all(
            servers.map((s) =>
              fetch(`${s.url}/healthz`, { signal: AbortSignal.timeout(2000) }).then(
                (r) => r.ok,
                () => false,
              ),
            ),
          );
          if (ok.every(Boolean)) break;
          await sleep(200);
        }
        fault.healthy = recorder.now();
        console.log(`  ${(fault.healthy / 1000).toFixed(1)} s: healthy again after ${f.name}`);
      }),
    ];
    phase(recorder.t0, 'load running');
    await Promise.all(work);
    phase(recorder.t0, 'load done; draining the outboxes');
    const wall = (performance.now() - start) / 1000;

    // drain: the outboxes send what they hold; 60 s at most
    api.giveUpAt = Math.max(api.giveUpAt, recorder.now() + 60_000);
    const drainStart = performance.now();
    while (!notebooks.every((n) => n.idle) && recorder.now() < api.giveUpAt) await sleep(100);
    const unacknowledged = notebooks.reduce((s, n) => s + n.unacknowledged, 0);
    const drainMs = performance.now() - drainStart;
    phase(recorder.t0, `drained (${unacknowledged} left); checking the reports`);

    // every report's editors converge, and a fresh client (through each server) sees the same text
    const reportsResult = [];
    for (const reportId of reportIds) {
      const mine = editors.filter((e) => e.reportId === reportId);
      const deadline = Date.now() + 60_000;
      while (new Set(mine.map((e) => e.doc.getText('content').toString())).size > 1 && Date.now() < deadline) await sleep(100);
      const texts = new Set(mine.map((e) => e.doc.getText('content').toString()));
      const fresh: string[] = [];
      for (const _ of servers) {
        const provider = collab.connect(reportId);
        const freshDeadline = Date.now() + 30_000;
        while (!provider.synced && Date.now() < freshDeadline) await sleep(50);
        fresh.push(provider.synced ? provider.doc.getText('content').toString() : '(did not sync)');
      }
      const text = [...texts][0] ?? '';
      const typed = mine.flatMap((e) => e.typed);
      phase(recorder.t0, `report ${reportId.slice(0, 8)} checked`);
      reportsResult.push({
        reportId,
        editors: mine.length,
        converged: texts.size === 1,
        freshEqual: fresh.every((f) => f === text),
        typed: typed.length,
        ...checkWords(fresh[0]!, typed),
      });
    }
    await sampler.stop();
    collab.destroy();
    await sleep(3000); // the sockets close, their rooms let go
    const restAfter = await Promise.all(servers.map((s) => s.heapAfterGcMiB()));
    phase(recorder.t0, 'stopping the servers');
    for (const s of servers) await s.stop();
    phase(recorder.t0, 'reading back');
    const exitCodes = servers.map((s) => s.child?.exitCode ?? s.child?.signalCode);

    const stored = await readBack(storage.kind === 'postgres' ? { url: storage.url } : { dataDir: path.join(storage.dataDir, 'pgdata') }, notebooks);
    return printReport({
      scenario: scenario.name,
      knobs,
      wall,
      recorder,
      faults: faultLog,
      faultMode: scenario.faults.length > 0,
      unacknowledged,
      drainMs,
      dropped: notebooks.reduce((s, n) => s + n.droppedPoints + n.droppedCells, 0),
      images: notebooks.reduce((s, n) => s + n.imagesAcked, 0),
      reports: reportsResult,
      stored,
      samples: sampler.samples,
      rest: { before: restBefore, after: restAfter },
      exitCodes,
      serverErrors: servers.map((s) => s.errorLines),
      crashes: servers.map((s) => s.crashes),
    });
  } catch (error) {
    console.error(`${scenario.name} failed:`, error);
    for (const s of servers) console.error(`server ${s.url} log tail:\n${s.log.slice(-3000)}`);
    return false;
  } finally {
    await sampler?.stop();
    collab.destroy();
    for (const s of servers) await s.stop().catch(() => {});
    if (storage.kind === 'postgres') rmSync(serverEnv.CELLMARK_DATA_DIR!, { recursive: true, force: true });
  }
}

const results: boolean[] = [];
const base = process.env.DATABASE_URL;
if (!faults) {
  const counts = (process.env.SOAK_SERVERS ?? '1,2').split(',').map(Number);
  if (!base) {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'cellmark-soak-pglite-'));
    results.push(await runScenario({ name: 'soak, PGlite', servers: 1, storage: { kind: 'pglite', dataDir }, faults: [] }));
    rmSync(dataDir, { recursive: true, force: true });
  } else {
    for (const n of counts) {
      const db = await throwawayDatabase(base);
      results.push(
        await runScenario({ name: `soak, ${n} server${n > 1 ? 's' : ''}, Postgres`, servers: n, storage: { kind: 'postgres', url: db.url }, faults: [] }),
      );
      await db.drop();
    }
  }
} else if (faultSets.includes('postgres')) {
  const pg = await OwnPostgres.create();
  try {
    results.push(
      await runScenario({
        name: 'faults, 2 servers, private Postgres',
        servers: 2,
        storage: { kind: 'postgres', url: pg.url, private: pg },
        faults: [
          { at: 0.2, name: 'kill -9 of server 1', hold: 5000, inject: async (s) => void (await s[0]!.kill9()), recover: (s) => s[0]!.start() },
          { at: 0.5, name: 'kill -9 of Postgres', hold: 5000, inject: () => pg.kill9(), recover: () => pg.start() },
          {
            at: 0.75,
            name: 'kill -9 of both servers',
            hold: 3000,
            inject: (s) => Promise.all(s.map((x) => x.kill9())).then(() => {}),
            recover: (s) => Promise.all(s.map((x) => x.start())).then(() => {}),
          },
        ],
      }),
    );
  } finally {
    pg.stop();
  }
}
if (faults && faultSets.includes('disk')) {
  const disk = new SmallDisk(env('SOAK_DISK_MIB', 192));
  try {
    results.push(
      await runScenario({
        name: `faults, 1 server, PGlite on a ${env('SOAK_DISK_MIB', 192)} MiB tmpfs`,
        servers: 1,
        storage: { kind: 'pglite', dataDir: disk.dataDir, disk },
        faults: [
          { at: 0.25, name: 'disk full (PGlite data dir and blobs)', hold: 10_000, inject: () => disk.fill(), recover: () => disk.free() },
          { at: 0.65, name: 'kill -9 of the PGlite server', hold: 3000, inject: async (s) => void (await s[0]!.kill9()), recover: (s) => s[0]!.start() },
        ],
      }),
    );
  } finally {
    disk.dispose();
  }
}
console.log(`\n${results.every(Boolean) ? 'PASS' : 'FAIL'}: ${results.length} scenario(s)`);
// y-websocket providers keep timers alive after destroy() (as in collab-fanout.ts)
process.exit(results.every(Boolean) ? 0 : 1);
