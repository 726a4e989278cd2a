// Property-based fuzzing of the reports procedures with hostile strings (any code points,
// lone surrogates, NUL and control characters, long, padded): create, rename, delete,
// restore each answer success or a 4xx naming the field — never 5xx — and what a success
// stored is what the list shows. FUZZ_RUNS / FUZZ_SEED as in collab-fuzz.test.ts.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, startTestServer, type TestServer, userWithProject } from './helpers.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 25);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;

let server: TestServer;
let owner: Awaited<ReturnType<typeof userWithProject>>;

beforeAll(async () => {
  server = await startTestServer();
  owner = await userWithProject(server, 'owner');
});
afterAll(async () => {
  await server?.dispose();
});

// biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${x} is one of the hostile inputs
const templateLookalike = '${x}';
const nasty = fc.constantFrom(
  '\u0000',
  '\uD800',
  '\uDFFF',
  '\u202E',
  '\uFEFF',
  '\u0007',
  '\r\n',
  ' ',
  '%00',
  "'; drop table reports; --",
  templateLookalike,
  '<script>',
  '\\',
  '"',
);
const hostileString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.array(fc.oneof(nasty, fc.string({ unit: 'binary', maxLength: 4 })), { maxLength: 12 }).map((parts) => parts.join('')),
  fc.integer({ min: 190, max: 5000 }).map((n) => 'x'.repeat(n)),
);
const hostileId = fc.oneof(fc.uuid(), fc.string({ unit: 'binary', maxLength: 40 }), nasty);

/** A procedure's outcome: the value, or the HTTP status of a 4xx (a 5xx fails the property). */
async function outcome<T>(call: Promise<T>): Promise<{ ok: T } | { status: number; message: string }> {
  try {
    return { ok: await call };
  } catch (error) {
    const { status, message } = errorOf(error);
    expect(status, `${status}: ${message}`).toBeLessThan(500);
    expect(message).not.toMatch(/internal/i);
    return { status, message };
  }
}

describe('reports fuzz', () => {
  it(
    `create / rename / delete / restore with hostile strings: success or 4xx, never 5xx (${RUNS} runs)`,
    async () => {
      const api = owner.api;
      await fc.assert(
        fc.asyncProperty(hostileString, hostileString, hostileId, async (title, rename, id) => {
          const created = await outcome(api.reports.create.mutate({ projectId: owner.project.id, title }));
          await outcome(api.reports.rename.mutate({ reportId: id, title: rename }));
          await outcome(api.reports.delete.mutate({ reportId: id }));
          await outcome(api.reports.restore.mutate({ reportId: id }));
          await outcome(api.reports.create.mutate({ projectId: id, title }));
          if (!('ok' in created)) return;
          const reportId = created.ok.id;
          const renamed = await outcome(api.reports.rename.mutate({ reportId, title: rename }));
          const listed = (await api.reports.list.query({ projectId: owner.project.id })).find((r) => r.id === reportId);
          expect(listed?.title).toBe('ok' in renamed ? renamed.ok.title : created.ok.title);
          expect('ok' in (await outcome(api.reports.delete.mutate({ reportId })))).toBe(true);
          expect('ok' in (await outcome(api.reports.restore.mutate({ reportId })))).toBe(true);
          await api.reports.delete.mutate({ reportId });
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
    },
    30_000 + RUNS * 300,
  );
});
