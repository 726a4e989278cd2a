// The soak's report and verdicts: every failure the clients saw (grouped by route, status and
// message, with when), what the read-back found, latencies per route, RSS and database size
// over time with the "flat after warm-up" verdict, and for a fault run what clients saw in
// each fault's window.
import type { Recorder } from './api.ts';
import { type Sample, slope } from './infra.ts';
import type { ReadBack } from './verify.ts';

export interface Fault {
  name: string;
  /** ms since the soak started: injected, undone, every server healthy again */
  start: number;
  recovered: number;
  healthy: number;
}

export interface ReportInput {
  scenario: string;
  knobs: { seconds: number; restGrowthMiB: number; sampleMs: number };
  /** V8 heap after a full GC per server with no load: before the load, and after it and the drain */
  rest: { before: (number | null)[]; after: (number | null)[] };
  wall: number;
  recorder: Recorder;
  faults: Fault[];
  faultMode: boolean;
  unacknowledged: number;
  drainMs: number;
  dropped: number;
  images: number;
  reports: {
    reportId: string;
    editors: number;
    converged: boolean;
    freshEqual: boolean;
    typed: number;
    missing: string[];
    duplicated: string[];
    unknown: string[];
  }[];
  stored: ReadBack;
  samples: Sample[];
  exitCodes: (number | string | null | undefined)[];
  /** each server's error-level log lines */
  serverErrors: string[][];
  crashes: string[][];
}

/** A 5xx message that shows the caller our internals (SQL, driver errors, paths) instead of saying what is wrong. */
const INTERNALS =
  /Failed query|\bselect\b|\binsert into\b|params:|ECONNREFUSED|ECONNRESET|ENOSPC|CONNECTION_[A-Z]+|\d+\.\d+\.\d+\.\d+:\d+|node_modules|\.ts:\d+|errno/i;

/** One line per kind of failure: ids, times and query parameters vary, the cause does not. */
const normalise = (message: string) =>
  message
    .replace(/params:[\s\S]*/, 'params: …')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')
    .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<time>')
    .replace(/\s+/g, ' ');
/** after every server is healthy again, clients may still be backing off (≤ 4 s) or reconnecting (≤ 2.5 s) */
const GRACE_MS = 8000;

const pct = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');

export function printReport(r: ReportInput): boolean {
  const problems: string[] = [];
  const { failures } = r.recorder;
  const inFault = (at: number) => r.faults.some((f) => at >= f.start - 500 && at <= (Number.isFinite(f.healthy) ? f.healthy : Infinity) + GRACE_MS);
  const groups = new Map<string, { n: number; first: number; last: number; inFault: number }>();
  for (const f of failures) {
    const key = `${f.route} ${f.status}: ${normalise(f.message)}`;
    const g = groups.get(key) ?? { n: 0, first: f.at, last: f.at, inFault: 0 };
    groups.set(key, { n: g.n + 1, first: g.first, last: f.at, inFault: g.inFault + (inFault(f.at) ? 1 : 0) });
  }
  console.log(`\n-- ${r.scenario}: ${f1(r.wall)} s of load, drained in ${(r.drainMs / 1000).toFixed(1)} s`);
  console.log(`errors (every non-2xx, network error and websocket close the clients saw): ${failures.length}`);
  for (const [key, g] of [...groups].sort((a, b) => b[1].n - a[1].n)) {
    console.log(
      `  ${String(g.n).padStart(6)} × ${key.slice(0, 260)}   (${f1(g.first / 1000)}–${f1(g.last / 1000)} s${r.faultMode ? `, ${g.inFault} inside a fault window` : ''})`,
    );
  }
  if (!r.faultMode && failures.length) problems.push(`${failures.length} errors`);
  if (r.faultMode) {
    const outside = failures.filter((f) => !inFault(f.at));
    if (outside.length) problems.push(`${outside.length} errors outside the fault windows`);
    const hangs = failures.filter((f) => f.status === 'timeout');
    if (hangs.length) problems.push(`${hangs.length} requests hung past the client timeout`);
    const leaky = failures.filter((f) => typeof f.status === 'number' && f.status >= 500 && INTERNALS.test(f.message));
    if (leaky.length) problems.push(`${leaky.length} 5xx answers carry internals, e.g. ${JSON.stringify(leaky[0]!.message.slice(0, 200))}`);
    const final4xx = failures.filter((f) => typeof f.status === 'number' && f.status >= 400 && f.status < 500 && f.status !== 408 && f.status !== 429);
    if (final4xx.length)
      problems.push(
        `${final4xx.length} 4xx answers (a client drops the record): ${[...new Set(final4xx.map((f) => `${f.status} ${f.message}`))].slice(0, 3).join(' | ')}`,
      );
    for (const [i, fault] of r.faults.entries()) {
      const end = Math.min(fault.healthy + GRACE_MS, r.faults[i + 1]?.start ?? Infinity);
      const seen = failures.filter((f) => f.at >= fault.start - 500 && f.at <= end);
      const kinds = new Map<string, number>();
      for (const f of seen)
        kinds.set(`${f.route === 'collab' ? 'collab' : 'http'} ${f.status}`, (kinds.get(`${f.route === 'collab' ? 'collab' : 'http'} ${f.status}`) ?? 0) + 1);
      console.log(
        `fault "${fault.name}" at ${f1(fault.start / 1000)} s, undone at ${f1(fault.recovered / 1000)} s, healthy at ${f1(fault.healthy / 1000)} s: clients saw ${[...kinds].map(([k, n]) => `${n} × ${k}`).join(', ') || 'nothing'}`,
      );
    }
  }

  const s = r.stored;
  console.log(
    `executions: ${s.executionsAcked} acknowledged, ${s.executionsMissing.length} missing, ${s.executionsDuplicated} duplicated, ${s.executionsMerged} merged from both paths, ${s.executionsUnmerged.length} lacking an acknowledged path; ${r.images} images acknowledged, ${s.blobs} run blobs`,
  );
  console.log(
    `metric points: ${s.pointsAcked} acknowledged, ${s.pointsStored} stored, ${s.pointsMissing.length} (run, key) series short, ${s.pointsDuplicated} duplicated (run, key, step)`,
  );
  console.log(`left unacknowledged after the drain: ${r.unacknowledged}; dropped on a final 4xx: ${r.dropped}`);
  for (const x of [...s.executionsMissing, ...s.executionsUnmerged, ...s.pointsMissing].slice(0, 10)) console.log(`  ${x}`);
  if (s.executionsMissing.length || s.executionsDuplicated || s.executionsUnmerged.length) problems.push('executions lost, duplicated or unmerged');
  if (s.pointsMissing.length || s.pointsDuplicated) problems.push('metric points lost or duplicated');
  if (r.unacknowledged) problems.push(`${r.unacknowledged} records never acknowledged`);
  if (r.dropped) problems.push(`${r.dropped} records dropped on a 4xx`);
  for (const rep of r.reports) {
    const ok = rep.converged && rep.freshEqual && !rep.missing.length && !rep.duplicated.length && !rep.unknown.length;
    console.log(
      `report ${rep.reportId.slice(0, 8)}: ${rep.editors} editors, ${rep.typed} words typed; ${rep.converged ? 'converged' : 'NOT converged'}, fresh client per server ${rep.freshEqual ? 'equal' : 'DIFFERENT'}; ${rep.missing.length} missing, ${rep.duplicated.length} duplicated, ${rep.unknown.length} unknown words`,
    );
    if (!ok) problems.push(`report ${rep.reportId} text wrong`);
  }

  console.log('latency per route (successful calls):');
  for (const [route, xs] of [...r.recorder.latencies].sort()) {
    console.log(
      `  ${route.padEnd(20)} n ${String(xs.length).padStart(8)}  p50 ${f1(pct(xs, 50)).padStart(7)} ms  p99 ${f1(pct(xs, 99)).padStart(7)} ms  max ${f1(Math.max(...xs)).padStart(7)} ms`,
    );
  }

  console.log(`every ${r.knobs.sampleMs / 1000} s — t (s): RSS per server (MiB); V8 heap after a full GC per server (MiB); database (MiB)`);
  const each = (xs: (number | null)[]) => xs.map((v) => f1(v ?? NaN)).join('/');
  console.log(`  ${r.samples.map((x) => `${x.t.toFixed(0)}: ${each(x.rssMiB)}; ${each(x.heapMiB)}; ${f1(x.dbMiB ?? NaN)}`).join('  |  ')}`);
  const secondHalf = r.samples.filter((x) => x.t >= r.wall / 2 && x.t <= r.wall + 1);
  const servers = r.samples[0]?.rssMiB.length ?? 0;
  const trend = (i: number, of: 'rssMiB' | 'heapMiB') => {
    const pts = secondHalf.filter((x) => x[of][i] != null).map((x): [number, number] => [x.t / 60, x[of][i]!]);
    const perMin = slope(pts);
    return {
      pts,
      perMin,
      text: `${perMin >= 0 ? '+' : ''}${perMin.toFixed(2)} MiB/min${pts.length ? ` (${f1(pts[0]![1])} → ${f1(pts.at(-1)![1])} MiB)` : ''}`,
    };
  };
  const requests = [...r.recorder.latencies.values()].reduce((n, xs) => n + xs.length, 0);
  for (let i = 0; i < servers; i++) {
    // under load the heap holds what is in flight (seconds of requests at saturation), so its
    // trend is shown, not judged; the verdict compares the heap at rest before and after
    console.log(`server ${i + 1} under load, second half: heap after GC ${trend(i, 'heapMiB').text}, RSS ${trend(i, 'rssMiB').text}`);
    const [before, after] = [r.rest.before[i], r.rest.after[i]];
    if (before == null || after == null) {
      console.log(`server ${i + 1} heap at rest: not measured (inspector unavailable)`);
      continue;
    }
    const growth = after - before;
    const line = `server ${i + 1} heap at rest (after a full GC): ${f1(before)} MiB before the load, ${f1(after)} MiB after it (${growth >= 0 ? '+' : ''}${f1(growth)} MiB; ${Math.round((Math.max(0, growth) * 2 ** 20) / Math.max(1, requests / servers))} bytes per request it served)`;
    if (r.faultMode) console.log(`${line}; no verdict in a fault run (restarts)`);
    else if (r.wall < 120) console.log(`${line}; no verdict under 2 minutes (warm-up)`);
    else {
      const flat = growth < r.knobs.restGrowthMiB;
      console.log(`${line}: ${flat ? 'no leak' : 'GROWING'} (threshold ${r.knobs.restGrowthMiB} MiB)`);
      if (!flat) problems.push(`server ${i + 1} heap at rest grew ${f1(growth)} MiB`);
    }
  }
  const db = r.samples.filter((x) => x.dbMiB != null);
  if (db.length > 1) {
    const perMin = slope(db.map((x) => [x.t / 60, x.dbMiB!]));
    console.log(
      `database size ${f1(db[0]!.dbMiB!)} → ${f1(db.at(-1)!.dbMiB!)} MiB (${perMin.toFixed(1)} MiB/min; ${s.pointsStored ? ((db.at(-1)!.dbMiB! * 2 ** 20) / s.pointsStored).toFixed(0) : '-'} bytes per stored point, everything included)`,
    );
  }
  for (const [i, crashes] of r.crashes.entries()) for (const c of crashes) console.log(`server ${i + 1} CRASHED (exit nobody asked for): ${c}`);
  if (r.crashes.flat().length) problems.push(`${r.crashes.flat().length} server crashes`);
  console.log(`server exits at the end (SIGTERM): ${r.exitCodes.join(', ')}`);
  if (r.exitCodes.some((c) => c !== 0)) problems.push(`a server did not exit 0 on SIGTERM: ${r.exitCodes}`);
  console.log(`server error log lines: ${r.serverErrors.map((l) => l.length).join(', ')}`);
  // the first few of each server, with the end of the message: where drizzle and pino put the cause
  for (const [i, lines] of r.serverErrors.entries()) for (const line of lines.slice(0, 5)) console.log(`  server ${i + 1}: ${describeLogLine(line)}`);
  console.log(problems.length ? `VERDICT ${r.scenario}: FAIL — ${problems.join('; ')}` : `VERDICT ${r.scenario}: PASS`);
  return problems.length === 0;
}

/** time, message head and the cause at its end (pino's err serializer appends "caused by: …"), for one JSON log line */
function describeLogLine(line: string) {
  try {
    const { time, msg, err } = JSON.parse(line) as {
      time?: string;
      msg?: string;
      err?: { type?: string; message?: string; code?: string; cause?: { message?: string; code?: string } };
    };
    const message = err?.message ?? '';
    const cause = err?.cause ? `${err.cause.code ?? ''} ${err.cause.message ?? ''}`.trim() : '';
    return `${time} ${msg ?? ''} ${err?.type ?? ''} ${err?.code ?? ''}: ${message.length > 300 ? `${message.slice(0, 120)} … ${message.slice(-180)}` : message}${cause ? ` | cause: ${cause.slice(0, 300)}` : ''}`;
  } catch {
    return line.slice(0, 400);
  }
}
