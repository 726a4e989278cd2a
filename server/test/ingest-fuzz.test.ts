// Property-based fuzzing of every ingest procedure over real HTTP: valid inputs with hostile
// values put in (NUL, lone surrogates, CR/LF, huge strings, NaN/±Infinity, huge and negative
// numbers, deep nesting, wrong types, oversize arrays). Properties: the answer is a 2xx, or a
// 4xx with a message — never a 5xx — and a refused call wrote nothing (row counts, the run's
// row, the blob directory). FUZZ_RUNS sets the cases per procedure (npm run fuzz -w @cellmark/server: 10,000).
import { readdir } from 'node:fs/promises';
import { resultRows, sql } from '@cellmark/db';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, userWithProject } from './helpers.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 15);

let server: TestServer;
let owner: Awaited<ReturnType<typeof userWithProject>>;
let runId: string;

beforeAll(async () => {
  // small limits, so oversize inputs are cheap to make
  server = await startTestServer({
    CELLMARK_MAX_BODY_BYTES: String(2 * 1024 * 1024),
    CELLMARK_MAX_SOURCE_BYTES: '100000',
    CELLMARK_MAX_CELLS_PER_BATCH: '50',
    CELLMARK_MAX_POINTS_PER_BATCH: '1000',
  });
  owner = await userWithProject(server, 'fuzz');
  ({ runId } = await owner.ingest.ingest.startRun.mutate({
    project: owner.projectPath,
    clientKey: 'fuzz-run-0001',
    notebookPath: 'f.ipynb',
    startedAt: new Date().toISOString(),
  }));
});
afterAll(() => server?.dispose());

const at = () => new Date().toISOString();

/** JSON has no NaN or Infinity: these placeholders are replaced by raw tokens in the body. */
const RAW = { '\u0001NaN': 'NaN', '\u0001Inf': '1e999', '\u0001-Inf': '-1e999', '\u0001big': '123456789012345678901234567890' } as const;

const hostileString = fc.oneof(
  fc.constantFrom(
    '',
    '\u0000',
    'a\u0000b',
    '\ud800',
    'x\udfffy',
    '\r\n',
    'image/png\r\nx-evil: 1',
    `${' '.repeat(5000)}!`,
    "'; drop table runs; --",
    '../../etc/passwd',
    '%s%n%x',
    '\u202e\ufeff',
    '\ufeffbom',
    'NaN',
    'Infinity',
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 300 }),
  fc.constantFrom('x'.repeat(70_000), 'é'.repeat(200_000)),
);
const hostileNumber = fc.oneof(
  fc.constantFrom(-1, -0, 0.5, 2 ** 31, 2 ** 53, 2 ** 63, 1e308, -1e308, Number.MIN_VALUE),
  fc.constantFrom(...Object.keys(RAW)),
  fc.double(),
  fc.integer(),
);
const nested = fc.integer({ min: 1, max: 140 }).map((depth) => {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { k: v };
  return v;
});
const hostile: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  hostileNumber,
  fc.constantFrom(null, true, false, undefined, [], {}),
  nested,
  fc.constantFrom(
    Array.from({ length: 1200 }, (_, i) => i),
    Array.from({ length: 60 }, () => ({})),
  ),
  fc.dictionary(hostileString, fc.oneof(hostileString, hostileNumber), { maxKeys: 4 }),
  fc.anything({ maxDepth: 3 }),
);

/** A valid input for each procedure and the paths whose values the fuzzer replaces. */
const targets: Record<string, { input: () => Record<string, unknown>; paths: string[] }> = {
  startRun: {
    input: () => ({
      project: owner.projectPath,
      clientKey: 'fuzz-client-01',
      notebookPath: 'f.ipynb',
      kernelName: 'python3',
      host: 'h',
      name: 'n',
      startedAt: at(),
    }),
    paths: ['project', 'clientKey', 'notebookPath', 'kernelName', 'host', 'name', 'startedAt', 'previousRunId', 'extra'],
  },
  cells: {
    input: () => ({
      runId,
      origin: 'frontend',
      cells: [
        {
          executionKey: 'fuzz-exec',
          cellId: 'c1',
          executionCount: 1,
          position: 0,
          source: 'x = 1',
          outputs: [
            { output_type: 'display_data', data: { 'image/png': 'iVBORw0KGgo=', 'text/plain': 'fig' }, metadata: {} },
            { output_type: 'stream', name: 'stdout', text: 'hi' },
          ],
          status: 'ok',
          error: null,
          startedAt: at(),
          endedAt: at(),
          config: { lr: 0.1 },
        },
      ],
    }),
    paths: [
      'runId',
      'origin',
      'cells',
      'cells.0',
      'cells.0.executionKey',
      'cells.0.cellId',
      'cells.0.executionCount',
      'cells.0.position',
      'cells.0.source',
      'cells.0.outputs',
      'cells.0.outputs.0',
      'cells.0.outputs.0.output_type',
      'cells.0.outputs.0.data',
      'cells.0.outputs.0.data.image/png',
      'cells.0.outputs.0.data.text/plain',
      'cells.0.outputs.0.data.application/json',
      'cells.0.outputs.0.metadata',
      'cells.0.outputs.1.text',
      'cells.0.outputs.1.name',
      'cells.0.status',
      'cells.0.error',
      'cells.0.startedAt',
      'cells.0.endedAt',
      'cells.0.config',
      'cells.0.config.lr',
    ],
  },
  endRun: { input: () => ({ runId, status: 'crashed', endedAt: at() }), paths: ['runId', 'status', 'endedAt'] },
  updateRun: {
    input: () => ({ runId, name: 'fuzzed', tags: ['a'], addTags: ['b'], removeTags: ['c'], notes: 'n' }),
    paths: ['runId', 'name', 'tags', 'tags.0', 'addTags', 'removeTags', 'notes'],
  },
  metrics: {
    input: () => ({
      runId,
      points: [
        { key: 'train/loss', step: 1, value: 0.5, time: at() },
        { key: 'train/acc', step: 1, value: 'NaN', time: at() },
      ],
    }),
    paths: ['runId', 'points', 'points.0', 'points.0.key', 'points.0.step', 'points.0.value', 'points.0.time', 'points.1.value', 'points.1.key'],
  },
  summary: { input: () => ({ runId, set: { best: 0.9, note: 'ok' }, unset: ['old'] }), paths: ['runId', 'set', 'set.best', 'set.note', 'unset', 'unset.0'] },
  heartbeat: { input: () => ({ runId, at: at() }), paths: ['runId', 'at'] },
  kernelHello: {
    input: () => ({ runId, language: 'python', implementation: 'cpython', cellmarkVersion: '0.1.0' }),
    paths: ['runId', 'language', 'implementation', 'cellmarkVersion', 'extra'],
  },
  environment: {
    input: () => ({ runId, environment: { python: { version: '3.11' }, packages: ['numpy==2'], git: { diff: 'd' }, host: { hostname: 'h' } } }),
    paths: ['runId', 'environment', 'environment.python', 'environment.packages', 'environment.git.diff', 'environment.host', 'environment.host.hostname'],
  },
};

function setPath(target: Record<string, unknown>, path: string, value: unknown) {
  // MIME keys hold a "/": split on dots only
  const parts = path.split('.');
  let node: Record<string, unknown> = target;
  for (const part of parts.slice(0, -1)) {
    if (!node[part] || typeof node[part] !== 'object') node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  const last = parts.at(-1)!;
  // a copy: constants are shared between cases, and a later path may write inside this value
  if (value === undefined) delete node[last];
  else node[last] = structuredClone(value);
}

function encode(input: unknown): string {
  let json = JSON.stringify(input);
  for (const [marker, raw] of Object.entries(RAW)) json = json.replaceAll(JSON.stringify(marker), raw);
  return json;
}

/** What a refused call must leave as it was. */
async function state() {
  const [row] = resultRows<Record<string, unknown>>(
    await server.database.db.execute(sql`
      select (select count(*) from run_cells)::int as cells, (select count(*) from metric_points)::int as points,
             (select count(*) from run_config)::int as config, (select count(*) from runs)::int as runs,
             (select count(*) from metric_keys)::int as keys, (select count(*) from run_blobs)::int as blobs,
             (select md5(string_agg(row_to_json(r)::text, ',' order by r.id))
              from (select id, name, tags, notes, status, ended_at, summary, environment, kernel, config, last_activity_at from runs) r) as runs_hash`),
  );
  const files = (await readdir(server.blobDir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).length;
  return { ...row, files };
}

describe('ingest fuzzing', () => {
  for (const [procedure, { input, paths }] of Object.entries(targets)) {
    it(
      `ingest.${procedure}: 2xx or a 4xx with a message, never a 5xx; a refused call writes nothing`,
      async () => {
        const statuses = new Map<number, number>();
        // the unmutated input is accepted: what the fuzzer refuses is what it changed
        const base = await fetch(`${server.url}/api/trpc/ingest.${procedure}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${owner.token}` },
          body: encode(input()),
        });
        expect(base.status, await base.text()).toBe(200);
        await fc.assert(
          fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(...paths), hostile), { minLength: 1, maxLength: 3 }), async (mutations) => {
            const body = input();
            for (const [path, value] of mutations) setPath(body, path, value);
            const before = await state();
            const res = await fetch(`${server.url}/api/trpc/ingest.${procedure}`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${owner.token}` },
              body: encode(body),
            });
            const answer = (await res.json()) as { error?: { message?: string } };
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
            expect(res.status, JSON.stringify(answer).slice(0, 500)).toBeLessThan(500);
            if (res.status >= 400) {
              expect(answer.error?.message).toMatch(/\S/);
              expect(await state()).toEqual(before);
            }
          }),
          { numRuns: RUNS },
        );
        // whatever was accepted can be read back
        const page = await owner.api.runs.get.query({ runId });
        expect(page.run.id).toBe(runId);
        if (RUNS > 100) console.log(`ingest.${procedure}: ${RUNS} cases, statuses`, Object.fromEntries(statuses));
      },
      30_000 + RUNS * 300,
    );
  }
});
