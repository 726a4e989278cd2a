// Whatever order the two capture paths' records arrive in, the merged row is the same.
import { describe, expect, it } from 'vitest';
import { type ExecutionRecord, type MergedExecution, mergeExecution, type Origin } from './execution-merge.ts';

const t = (ms: number) => new Date(Date.UTC(2026, 10, 26, 12, 0, 0, ms));
const outputs = [{ output_type: 'stream' as const, name: 'stdout' as const, text: 'hi\n' }];

const kernelRunning: ExecutionRecord = {
  executionKey: 'm1',
  cellId: 'c1',
  executionCount: 7,
  source: 'x = 1',
  status: 'running',
  startedAt: t(10),
  endedAt: null,
};
const frontend: ExecutionRecord = {
  executionKey: 'm1',
  cellId: 'c1',
  executionCount: 7,
  position: 3,
  source: 'x = 1',
  outputs,
  status: 'ok',
  startedAt: t(0),
  endedAt: t(900),
};

function interleavings(a: [Origin, ExecutionRecord][], b: [Origin, ExecutionRecord][]): [Origin, ExecutionRecord][][] {
  if (!a.length) return [b];
  if (!b.length) return [a];
  return [...interleavings(a.slice(1), b).map((rest) => [a[0]!, ...rest]), ...interleavings(a, b.slice(1)).map((rest) => [b[0]!, ...rest])];
}

function mergeAll(records: [Origin, ExecutionRecord][]): MergedExecution {
  return records.reduce<MergedExecution | null>((prev, [origin, rec]) => mergeExecution(prev, rec, origin), null)!;
}

describe('mergeExecution', () => {
  const scenarios: [string, ExecutionRecord, ExecutionRecord, Partial<MergedExecution>][] = [
    ['ok', { ...kernelRunning, status: 'ok', endedAt: t(800) }, frontend, { status: 'ok', error: null }],
    [
      'error',
      { ...kernelRunning, status: 'error', endedAt: t(800), error: { ename: 'ValueError', evalue: 'bad', traceback: ['k'] } },
      { ...frontend, status: 'error', error: { ename: 'ValueError', evalue: 'bad', traceback: ['f'] } },
      { status: 'error' },
    ],
    [
      'interrupted',
      { ...kernelRunning, status: 'interrupted', endedAt: t(800), error: { ename: 'KeyboardInterrupt', evalue: '', traceback: [] } },
      { ...frontend, status: 'error', error: { ename: 'KeyboardInterrupt', evalue: '', traceback: [] } },
      { status: 'interrupted' },
    ],
  ];

  it.each(scenarios)('%s: every interleaving gives one row with kernel timing and frontend outputs', (_name, kernelFinal, front, expected) => {
    const results = interleavings(
      [
        ['kernel', kernelRunning],
        ['kernel', kernelFinal],
      ],
      [['frontend', front]],
    ).map(mergeAll);
    expect(results).toHaveLength(3);
    for (const merged of results) {
      expect(merged).toMatchObject({
        ...expected,
        startedAt: t(10),
        endedAt: t(800),
        position: 3,
        outputs: front.outputs,
        executionCount: 7,
        capturedBy: ['frontend', 'kernel'],
      });
      expect(merged).toEqual(results[0]);
    }
  });

  it('uses the frontend end time while the kernel has only said "running"', () => {
    const merged = mergeAll([
      ['kernel', kernelRunning],
      ['frontend', frontend],
    ]);
    expect(merged).toMatchObject({ status: 'ok', startedAt: t(10), endedAt: t(900) });
  });

  it('never ends before it started when the two clocks disagree', () => {
    const merged = mergeAll([
      ['kernel', { ...kernelRunning, startedAt: t(950) }],
      ['frontend', frontend],
    ]);
    expect(merged.endedAt!.getTime()).toBeGreaterThanOrEqual(merged.startedAt.getTime());
  });

  it('lets a later record from the same origin replace its earlier status', () => {
    expect(
      mergeAll([
        ['kernel', kernelRunning],
        ['kernel', { ...kernelRunning, status: 'ok', endedAt: t(20) }],
      ]).status,
    ).toBe('ok');
  });

  it('keeps a frontend-only record as it came (non-Python kernels)', () => {
    expect(mergeAll([['frontend', frontend]])).toMatchObject({ startedAt: t(0), endedAt: t(900), position: 3, capturedBy: ['frontend'] });
  });

  describe('outputs from both paths', () => {
    const stream = (text: string) => [{ output_type: 'stream' as const, name: 'stdout' as const, text }];
    const kernelPartial: ExecutionRecord = { ...kernelRunning, outputs: stream('line 1\n') };
    const kernelFinal: ExecutionRecord = { ...kernelRunning, status: 'ok', endedAt: t(800), outputs: stream('line 1\nline 2\n') };
    // what a hidden page sends for an execution still running: its position, no outputs
    const frontendRunning: ExecutionRecord = {
      executionKey: 'm1',
      cellId: 'c1',
      position: 3,
      source: 'x = 1',
      status: 'running',
      startedAt: t(0),
      endedAt: null,
    };
    // a finished record sent within the keepalive limit, outputs left for later
    const frontendSlim: ExecutionRecord = { ...frontend, outputs: undefined };
    const frontendShown: ExecutionRecord = { ...frontend, outputs: stream('what the notebook showed\n') };

    /** Every kernel stream (prefixes of running → partial → final) with every frontend stream. */
    const kernelStreams: [Origin, ExecutionRecord][][] = [
      [],
      [kernelRunning],
      [kernelRunning, kernelPartial],
      [kernelRunning, kernelPartial, kernelFinal],
      [kernelRunning, kernelFinal],
    ].map((s) => s.map((r) => ['kernel', r] as [Origin, ExecutionRecord]));
    const frontendStreams: [Origin, ExecutionRecord][][] = [
      [],
      [frontendRunning],
      [frontendShown],
      [frontendSlim],
      [frontendRunning, frontendShown],
      [frontendSlim, frontendShown],
    ].map((s) => s.map((r) => ['frontend', r] as [Origin, ExecutionRecord]));

    it('every interleaving of every pair of streams gives one row; the frontend’s finished outputs win, else the kernel’s latest', () => {
      let pairs = 0;
      for (const k of kernelStreams) {
        for (const f of frontendStreams) {
          if (!k.length && !f.length) continue;
          pairs += 1;
          const results = interleavings(k, f).map(mergeAll);
          for (const merged of results) expect(merged).toEqual(results[0]);
          const kernelOutputs = [...k].reverse().find(([, r]) => r.outputs)?.[1].outputs;
          const shown = f.some(([, r]) => r === frontendShown);
          expect(results[0]!.outputs).toEqual(shown ? frontendShown.outputs : (kernelOutputs ?? []));
          expect(results[0]!.outputsFrom).toBe(shown ? 'frontend' : kernelOutputs ? 'kernel' : null);
          if (f.length) expect(results[0]!.position).toBe(3);
        }
      }
      expect(pairs).toBe(kernelStreams.length * frontendStreams.length - 1);
    });

    it('the tab closed mid-cell: the kernel’s outputs, the frontend’s position, the kernel’s end', () => {
      const results = interleavings(
        [
          ['kernel', kernelRunning],
          ['kernel', kernelPartial],
          ['kernel', kernelFinal],
        ],
        [['frontend', frontendRunning]],
      ).map(mergeAll);
      expect(results).toHaveLength(4);
      for (const merged of results) {
        expect(merged).toMatchObject({
          status: 'ok',
          position: 3,
          startedAt: t(10),
          endedAt: t(800),
          outputs: kernelFinal.outputs,
          capturedBy: ['frontend', 'kernel'],
        });
      }
    });

    it('a frontend record sent while the cell still ran does not outrank the kernel’s outputs', () => {
      const frontendPartial: ExecutionRecord = { ...frontendRunning, outputs: stream('line 1\n') };
      expect(mergeAll([['frontend', frontendPartial]]).outputs).toEqual(frontendPartial.outputs);
      for (const order of interleavings([['frontend', frontendPartial]], [['kernel', kernelFinal]])) {
        expect(mergeAll(order)).toMatchObject({ outputs: kernelFinal.outputs, outputsFrom: 'kernel', status: 'ok' });
      }
    });

    it('a finished execution never goes back to running when a hidden page’s record arrives late', () => {
      for (const order of interleavings(
        [
          ['frontend', frontendRunning],
          ['frontend', frontendShown],
        ],
        [],
      )) {
        expect(mergeAll(order)).toMatchObject({ status: 'ok', endedAt: t(900), outputs: frontendShown.outputs });
      }
      expect(
        mergeAll([
          ['frontend', frontendShown],
          ['frontend', frontendRunning],
        ]),
      ).toMatchObject({ status: 'ok', endedAt: t(900), outputs: frontendShown.outputs });
    });

    it('a kernel that sends no outputs (an older kernel side) leaves the frontend’s', () => {
      for (const order of interleavings([['kernel', { ...kernelRunning, status: 'ok', endedAt: t(800) }]], [['frontend', frontend]])) {
        expect(mergeAll(order)).toMatchObject({ outputs: frontend.outputs, outputsFrom: 'frontend' });
      }
    });
  });

  it('is idempotent: the same record twice changes nothing', () => {
    const once = mergeAll([
      ['frontend', frontend],
      ['kernel', kernelRunning],
    ]);
    expect(mergeExecution(once, frontend, 'frontend')).toEqual(once);
    expect(mergeExecution(once, kernelRunning, 'kernel')).toEqual(once);
  });
});
