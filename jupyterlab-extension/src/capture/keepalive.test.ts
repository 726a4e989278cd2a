import { describe, expect, it } from 'vitest';
import { cellsInput, type ICellExecution } from '../api';
import { cell } from '../test-support/fake-api';
import { candidateOf, type IKeepaliveRun, jsonBytes, KEEPALIVE_BODY_BYTES, roughJsonSize, selectForKeepalive, sentKey, slimRecord } from './keepalive';

const RUN_A = '00000000-0000-4000-8000-00000000000a';
const RUN_B = '00000000-0000-4000-8000-00000000000b';

const withOutput = (key: string, bytes: number): ICellExecution =>
  cell(key, { position: 1, outputs: [{ output_type: 'stream', name: 'stdout', text: 'x'.repeat(bytes) }] });

function run(runId: string, cells: ICellExecution[], clientKey = `client-${runId.slice(-1)}`): IKeepaliveRun {
  return { clientKey, runId, candidates: cells.map((c) => candidateOf(c)) };
}

const total = (batches: { bytes: number }[]) => batches.reduce((n, b) => n + b.bytes, 0);

describe('selectForKeepalive', () => {
  it('sends small records whole, one request per run, bodies counted exactly as sent', () => {
    const batches = selectForKeepalive(
      [run(RUN_A, [withOutput('a1', 100), withOutput('a2', 100)]), run(RUN_B, [withOutput('b1', 10)])],
      KEEPALIVE_BODY_BYTES,
      new Set(),
    );
    expect(batches.map((b) => [b.runId, b.cells.map((c) => c.executionKey)])).toEqual([
      [RUN_A, ['a1', 'a2']],
      [RUN_B, ['b1']],
    ]);
    for (const batch of batches) {
      expect(batch.cells.every((c) => c.outputs !== undefined)).toBe(true);
      expect(batch.bytes).toBe(new TextEncoder().encode(JSON.stringify(cellsInput(batch.runId, batch.cells))).length);
    }
    expect(batches[0]!.sent).toEqual([sentKey('a1', 'full'), sentKey('a2', 'full')]);
  });

  it('stays within the budget: every execution slim first, then whole ones oldest first', () => {
    const cells = [withOutput('big', 40_000), withOutput('mid', 20_000), withOutput('small', 500)];
    const [batch] = selectForKeepalive([run(RUN_A, cells)], 30_000, new Set());
    expect(batch!.bytes).toBeLessThanOrEqual(30_000);
    // all three carry their position; "big" cannot go whole, "mid" can, then "small"
    expect(batch!.cells.map((c) => [c.executionKey, c.position, c.outputs === undefined ? 'slim' : 'full'])).toEqual([
      ['big', 1, 'slim'],
      ['mid', 1, 'full'],
      ['small', 1, 'full'],
    ]);
  });

  it('shares the 64 KiB between runs and never exceeds it, whatever is pending', () => {
    const many = Array.from({ length: 250 }, (_, i) => withOutput(`c${i}`, (i * 977) % 9000));
    const batches = selectForKeepalive([run(RUN_A, many.slice(0, 120)), run(RUN_B, many.slice(120))], KEEPALIVE_BODY_BYTES, new Set());
    expect(total(batches)).toBeLessThanOrEqual(KEEPALIVE_BODY_BYTES);
    expect(batches.map((b) => b.runId)).toEqual([RUN_A, RUN_B]);
    // slim records of all 250 fit in 64 KiB; what is left goes to whole records
    expect(batches.flatMap((b) => b.cells)).toHaveLength(250);
    expect(batches.flatMap((b) => b.cells).some((c) => c.outputs !== undefined)).toBe(true);
  });

  it('uses only what other keepalive requests left of the budget', () => {
    expect(selectForKeepalive([run(RUN_A, [withOutput('a', 100)])], 100, new Set())).toEqual([]);
    const [batch] = selectForKeepalive([run(RUN_A, [withOutput('a', 2000)])], 1000, new Set());
    expect(batch!.cells[0]!.outputs).toBeUndefined();
    expect(batch!.bytes).toBeLessThanOrEqual(1000);
  });

  it('sends nothing twice in one hidden period, but a slim record may still go whole', () => {
    const cells = [withOutput('a', 30_000), withOutput('b', 30_000)];
    const sent = new Set<string>();
    const first = selectForKeepalive([run(RUN_A, cells)], 40_000, sent);
    expect(first[0]!.sent).toEqual([sentKey('a', 'full'), sentKey('b', 'slim')]);
    first[0]!.sent.forEach((k) => sent.add(k));
    const second = selectForKeepalive([run(RUN_A, cells)], KEEPALIVE_BODY_BYTES, sent);
    expect(second[0]!.cells.map((c) => [c.executionKey, c.outputs === undefined ? 'slim' : 'full'])).toEqual([['b', 'full']]);
    second[0]!.sent.forEach((k) => sent.add(k));
    expect(selectForKeepalive([run(RUN_A, cells)], KEEPALIVE_BODY_BYTES, sent)).toEqual([]);
  });

  it('leaves out what could never fit, whole or slim', () => {
    const huge = cell('huge', { source: 'y'.repeat(70_000), outputs: [{ output_type: 'stream', name: 'stdout', text: 'z'.repeat(8 * 1024 * 1024) }] });
    expect(candidateOf(huge)).toMatchObject({ slim: null, full: null });
    expect(selectForKeepalive([run(RUN_A, [huge, withOutput('ok', 10)])], KEEPALIVE_BODY_BYTES, new Set())[0]!.cells.map((c) => c.executionKey)).toEqual([
      'ok',
    ]);
  });
});

describe('sizes', () => {
  it('roughJsonSize stops counting past its cap', () => {
    const outputs = Array.from({ length: 1000 }, () => ({ output_type: 'stream', name: 'stdout', text: 'x'.repeat(10_000) }));
    const size = roughJsonSize(outputs, 64 * 1024);
    expect(size).toBeGreaterThan(64 * 1024);
    expect(size).toBeLessThan(100 * 1024);
    expect(roughJsonSize({ a: 'b' }, 100)).toBeGreaterThanOrEqual(jsonBytes({ a: 'b' }) - 2);
  });

  it('a slim record is the record without outputs', () => {
    const { outputs: _, ...rest } = withOutput('a', 10);
    const slim = slimRecord(withOutput('a', 10));
    expect('outputs' in slim).toBe(false);
    expect(slim).toEqual(rest);
  });
});
