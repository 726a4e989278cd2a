import { describe, expect, it } from 'vitest';
import { busy, executeInput, executeReplyOk, executeRequest, idle, reply, stream } from '../test-support/kernel-messages';
import { ExecutionRecorder, type IKernelMessageLike } from './execution-recorder';

const TRACEBACK = [
  '\u001b[0;31m---------------------------------------------------------------------------\u001b[0m',
  '\u001b[0;31mZeroDivisionError\u001b[0m                         Traceback (most recent call last)',
  'Cell \u001b[0;32mIn[2], line 1\u001b[0m\n\u001b[0;32m----> 1\u001b[0m \u001b[38;5;241;43m1\u001b[39;49m\u001b[38;5;241;43m/\u001b[39;49m\u001b[38;5;241;43m0\u001b[39;49m\n',
  '\u001b[0;31mZeroDivisionError\u001b[0m: division by zero',
];

function feed(recorder: ExecutionRecorder, messages: IKernelMessageLike[]) {
  const done = [];
  for (const msg of messages) {
    const direction = msg.header.msg_type === 'execute_request' ? 'send' : 'recv';
    done.push(...recorder.handle(msg, direction));
  }
  return done;
}

describe('ExecutionRecorder', () => {
  it('lists what is in flight as running records with their position, without outputs', () => {
    const recorder = new ExecutionRecorder({ positionOf: (id) => (id === 'cell-b' ? 4 : 1) });
    const first = executeRequest('train()', { cellId: 'cell-a' });
    const queued = executeRequest('evaluate()', { cellId: 'cell-b', date: '2025-03-04T10:00:00.500Z' });
    feed(recorder, [first, queued, busy(first), stream(first, 'epoch 1\n')]);
    expect(recorder.inFlightRecords()).toEqual([
      {
        executionKey: first.header.msg_id,
        cellId: 'cell-a',
        executionCount: null,
        position: 1,
        source: 'train()',
        status: 'running',
        error: null,
        startedAt: '2025-03-04T10:00:00.012Z',
        endedAt: null,
      },
      {
        executionKey: queued.header.msg_id,
        cellId: 'cell-b',
        executionCount: null,
        position: 4,
        source: 'evaluate()',
        status: 'running',
        error: null,
        startedAt: '2025-03-04T10:00:00.500Z',
        endedAt: null,
      },
    ]);
    feed(recorder, [executeReplyOk(first, 1), idle(first)]);
    expect(recorder.inFlightRecords().map((r) => r.cellId)).toEqual(['cell-b']);
  });

  it('records a successful execution with stream and result outputs', () => {
    const recorder = new ExecutionRecorder();
    const req = executeRequest("print('hello')\n6 * 7", { cellId: 'c0ffee00-1111-4222-8333-444455556666' });
    const done = feed(recorder, [
      req,
      busy(req),
      executeInput(req, "print('hello')\n6 * 7", 1),
      stream(req, 'hello\n'),
      reply(req, 'iopub', 'execute_result', {
        execution_count: 1,
        data: { 'text/plain': '42' },
        metadata: {},
      }),
      executeReplyOk(req, 1),
      idle(req),
    ]);

    expect(done).toEqual([
      {
        executionKey: req.header.msg_id,
        cellId: 'c0ffee00-1111-4222-8333-444455556666',
        executionCount: 1,
        position: null,
        source: "print('hello')\n6 * 7",
        outputs: [
          { output_type: 'stream', name: 'stdout', text: 'hello\n' },
          { output_type: 'execute_result', execution_count: 1, data: { 'text/plain': '42' }, metadata: {} },
        ],
        status: 'ok',
        error: null,
        startedAt: '2025-03-04T10:00:00.012Z',
        endedAt: '2025-03-04T10:00:01.523Z',
      },
    ]);
    expect(recorder.inFlight).toBe(0);
  });

  it('completes only when both idle and execute_reply arrived, in either order', () => {
    const recorder = new ExecutionRecorder();
    const req = executeRequest('x = 1');
    expect(feed(recorder, [req, busy(req), executeInput(req, 'x = 1', 4), idle(req)])).toEqual([]);
    expect(recorder.inFlight).toBe(1);
    const done = feed(recorder, [executeReplyOk(req, 4)]);
    expect(done).toHaveLength(1);
    expect(done[0]).toMatchObject({ status: 'ok', executionCount: 4, outputs: [] });
  });

  it('records an error with its output and the reply error', () => {
    const recorder = new ExecutionRecorder();
    const req = executeRequest('1/0');
    const [execution] = feed(recorder, [
      req,
      busy(req),
      executeInput(req, '1/0', 2),
      reply(req, 'iopub', 'error', { ename: 'ZeroDivisionError', evalue: 'division by zero', traceback: TRACEBACK }),
      idle(req),
      reply(req, 'shell', 'execute_reply', {
        status: 'error',
        execution_count: 2,
        ename: 'ZeroDivisionError',
        evalue: 'division by zero',
        traceback: TRACEBACK,
      }),
    ]);
    expect(execution).toMatchObject({
      status: 'error',
      executionCount: 2,
      error: { ename: 'ZeroDivisionError', evalue: 'division by zero', traceback: TRACEBACK },
      outputs: [{ output_type: 'error', ename: 'ZeroDivisionError', evalue: 'division by zero', traceback: TRACEBACK }],
    });
  });

  it('records a request aborted after an earlier error (no execute_input, no count)', () => {
    const recorder = new ExecutionRecorder();
    const req = executeRequest('print("never")');
    const [execution] = feed(recorder, [req, busy(req), reply(req, 'shell', 'execute_reply', { status: 'aborted' }), idle(req)]);
    expect(execution).toMatchObject({ status: 'aborted', executionCount: null, error: null, outputs: [] });
  });

  it('keeps the execution count from execute_reply when execute_input is missing', () => {
    const recorder = new ExecutionRecorder();
    const req = executeRequest('pass');
    const [execution] = feed(recorder, [req, busy(req), executeReplyOk(req, 9), idle(req)]);
    expect(execution?.executionCount).toBe(9);
  });

  it('ignores silent and history-less requests, and messages for other requests', () => {
    const recorder = new ExecutionRecorder();
    const silent = executeRequest('%config', { silent: true });
    const noHistory = executeRequest('get_ipython().kernel', { storeHistory: false });
    const foreign = executeRequest('print(1)'); // sent by another client: we never saw it go out
    const done = [
      ...feed(recorder, [silent, busy(silent), idle(silent), executeReplyOk(silent, 1)]),
      ...feed(recorder, [noHistory, busy(noHistory), idle(noHistory), executeReplyOk(noHistory, 1)]),
      ...[busy(foreign), stream(foreign, '1\n'), executeReplyOk(foreign, 3), idle(foreign)].flatMap((m) => recorder.handle(m, 'recv')),
    ];
    expect(done).toEqual([]);
    expect(recorder.inFlight).toBe(0);
  });

  it('keeps queued executions apart (run-all sends requests before the first finishes)', () => {
    const recorder = new ExecutionRecorder();
    const a = executeRequest('print("a")', { cellId: 'cell-a' });
    const b = executeRequest('print("b")', { cellId: 'cell-b' });
    const done = feed(recorder, [
      a,
      b,
      busy(a),
      executeInput(a, 'print("a")', 1),
      stream(a, 'a\n'),
      executeReplyOk(a, 1),
      idle(a),
      busy(b),
      executeInput(b, 'print("b")', 2),
      stream(b, 'b\n'),
      idle(b),
      executeReplyOk(b, 2),
    ]);
    expect(done.map((e) => [e.cellId, e.executionCount, e.outputs])).toEqual([
      ['cell-a', 1, [{ output_type: 'stream', name: 'stdout', text: 'a\n' }]],
      ['cell-b', 2, [{ output_type: 'stream', name: 'stdout', text: 'b\n' }]],
    ]);
  });

  it('stores a null cell id when the request has none (e.g. from a console)', () => {
    const recorder = new ExecutionRecorder();
    const req = executeRequest('1');
    const [execution] = feed(recorder, [req, busy(req), executeReplyOk(req, 1), idle(req)]);
    expect(execution?.cellId).toBeNull();
  });

  it('keeps rich MIME bundles whole, images as their base64 strings', () => {
    const recorder = new ExecutionRecorder();
    const req = executeRequest('plt.plot([1, 2])');
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
    const [execution] = feed(recorder, [
      req,
      busy(req),
      reply(req, 'iopub', 'display_data', {
        data: { 'image/png': png, 'text/plain': '<Figure size 640x480 with 1 Axes>' },
        metadata: { 'image/png': { width: 640, height: 480 } },
        transient: {},
      }),
      reply(req, 'iopub', 'display_data', { data: { 'image/jpeg': [png.slice(0, 10), png.slice(10)] }, metadata: {}, transient: {} }),
      reply(req, 'iopub', 'display_data', {
        data: { 'text/html': '<b>hi</b>', 'application/vnd.plotly.v1+json': { data: [] } },
        metadata: {},
        transient: {},
      }),
      executeReplyOk(req, 3),
      idle(req),
    ]);
    expect(execution?.outputs).toEqual([
      {
        output_type: 'display_data',
        data: { 'image/png': png, 'text/plain': '<Figure size 640x480 with 1 Axes>' },
        metadata: { 'image/png': { width: 640, height: 480 } },
      },
      // nbformat's multi-line arrays arrive joined.
      { output_type: 'display_data', data: { 'image/jpeg': png }, metadata: {} },
      {
        output_type: 'display_data',
        data: { 'text/html': '<b>hi</b>', 'application/vnd.plotly.v1+json': { data: [] } },
        metadata: {},
      },
    ]);
  });

  it('records the cell position asked for when the request is sent', () => {
    const asked: Array<string | null> = [];
    let order = ['c0', 'c1', 'c2'];
    const recorder = new ExecutionRecorder({
      positionOf: (cellId) => {
        asked.push(cellId);
        const i = cellId === null ? -1 : order.indexOf(cellId);
        return i < 0 ? null : i;
      },
    });
    const first = executeRequest('a', { cellId: 'c2' });
    const second = executeRequest('b', { cellId: 'gone' });
    recorder.handle(first, 'send');
    order = ['c2', 'c0', 'c1']; // moved while running: the position at send time counts
    recorder.handle(second, 'send');
    const done = feed(recorder, [busy(first), executeReplyOk(first, 1), idle(first), busy(second), executeReplyOk(second, 2), idle(second)]);
    expect(done.map((e) => e.position)).toEqual([2, null]);
    expect(asked).toEqual(['c2', 'gone']);
  });

  it('records KeyboardInterrupt as interrupted and an aborted reply as aborted', () => {
    const recorder = new ExecutionRecorder();
    const req = executeRequest('time.sleep(100)');
    const next = executeRequest('print(1)');
    const [interrupted, aborted] = feed(recorder, [
      req,
      next,
      busy(req),
      reply(req, 'iopub', 'error', { ename: 'KeyboardInterrupt', evalue: '', traceback: ['KeyboardInterrupt'] }),
      reply(req, 'shell', 'execute_reply', { status: 'error', ename: 'KeyboardInterrupt', evalue: '', traceback: ['KeyboardInterrupt'], execution_count: 4 }),
      idle(req),
      busy(next),
      reply(next, 'shell', 'execute_reply', { status: 'aborted', execution_count: null }),
      idle(next),
    ]);
    expect(interrupted).toMatchObject({ status: 'interrupted', error: { ename: 'KeyboardInterrupt' } });
    expect(aborted).toMatchObject({ status: 'aborted', error: null });
  });

  it('guesses interrupted from the error output when the reply is lost', () => {
    let now = new Date('2025-03-04T10:00:00.000Z');
    const recorder = new ExecutionRecorder({ now: () => now });
    const req = executeRequest('loop()');
    feed(recorder, [req, busy(req), reply(req, 'iopub', 'error', { ename: 'KeyboardInterrupt', evalue: '', traceback: [] }), idle(req)]);
    now = new Date('2025-03-04T10:00:10.000Z');
    expect(recorder.expireStale(5000).map((e) => e.status)).toEqual(['interrupted']);
  });

  it('merges consecutive stream chunks and applies carriage returns like a notebook', () => {
    const recorder = new ExecutionRecorder();
    const req = executeRequest('for i in range(3): print(i, end="\\r")');
    const [execution] = feed(recorder, [
      req,
      busy(req),
      stream(req, 'progress 10%\r'),
      stream(req, 'progress 50%\r'),
      stream(req, 'progress 100%\n'),
      stream(req, 'warning!\n', 'stderr'),
      stream(req, 'done\n'),
      executeReplyOk(req, 5),
      idle(req),
    ]);
    expect(execution?.outputs).toEqual([
      { output_type: 'stream', name: 'stdout', text: 'progress 100%\n' },
      { output_type: 'stream', name: 'stderr', text: 'warning!\n' },
      { output_type: 'stream', name: 'stdout', text: 'done\n' },
    ]);
  });

  it('caps a long stream with a truncation marker and keeps memory bounded', () => {
    const recorder = new ExecutionRecorder({ limits: { maxTextBytes: 100, maxExecutionBytes: 10_000, maxOutputs: 100 } });
    const req = executeRequest('while True: print("x" * 9)');
    const messages = [req, busy(req)];
    for (let i = 0; i < 50; i++) {
      messages.push(stream(req, 'xxxxxxxxx\n'));
    }
    messages.push(executeReplyOk(req, 6), idle(req));
    const [execution] = feed(recorder, messages);
    const output = execution?.outputs[0];
    expect(output?.output_type).toBe('stream');
    const text = output?.output_type === 'stream' ? output.text : '';
    expect(text.startsWith('xxxxxxxxx\n'.repeat(10))).toBe(true);
    expect(text).toContain('[… 400 more bytes not recorded by Cellmark]');
    expect(execution?.outputs).toHaveLength(1);
  });

  it('drops outputs past the per-execution budget and says how many', () => {
    const recorder = new ExecutionRecorder({ limits: { maxTextBytes: 1000, maxExecutionBytes: 400, maxOutputs: 100 } });
    const req = executeRequest('for i in range(20): display(i)');
    const messages = [req, busy(req)];
    for (let i = 0; i < 20; i++) {
      messages.push(reply(req, 'iopub', 'display_data', { data: { 'text/plain': String(i) }, metadata: {}, transient: {} }));
    }
    messages.push(executeReplyOk(req, 7), idle(req));
    const [execution] = feed(recorder, messages);
    const outputs = execution?.outputs ?? [];
    const last = outputs[outputs.length - 1];
    expect(outputs.length).toBeLessThan(20);
    expect(last).toMatchObject({ output_type: 'display_data' });
    expect(last?.output_type === 'display_data' ? last.data['text/plain'] : '').toMatch(
      /^\[Cellmark: \d+ more outputs not recorded: over 100 outputs or 400 bytes for one execution\]$/,
    );
  });

  it('handles clear_output(wait=True) and update_display_data', () => {
    const recorder = new ExecutionRecorder();
    const req = executeRequest('h = display("a", display_id=True)');
    const [execution] = feed(recorder, [
      req,
      busy(req),
      stream(req, 'step 1\n'),
      reply(req, 'iopub', 'clear_output', { wait: true }),
      stream(req, 'step 2\n'),
      reply(req, 'iopub', 'display_data', { data: { 'text/plain': "'a'" }, metadata: {}, transient: { display_id: 'd1' } }),
      reply(req, 'iopub', 'update_display_data', { data: { 'text/plain': "'b'" }, metadata: {}, transient: { display_id: 'd1' } }),
      executeReplyOk(req, 8),
      idle(req),
    ]);
    expect(execution?.outputs).toEqual([
      { output_type: 'stream', name: 'stdout', text: 'step 2\n' },
      { output_type: 'display_data', data: { 'text/plain': "'b'" }, metadata: {} },
    ]);
  });

  it('gives up waiting for a lost execute_reply after the grace period', () => {
    let now = Date.parse('2025-03-04T10:00:02Z');
    const recorder = new ExecutionRecorder({ now: () => new Date(now) });
    const req = executeRequest('1/0');
    feed(recorder, [req, busy(req), reply(req, 'iopub', 'error', { ename: 'ZeroDivisionError', evalue: 'division by zero', traceback: TRACEBACK }), idle(req)]);
    expect(recorder.expireStale(5000)).toEqual([]);
    now += 5000;
    const [execution] = recorder.expireStale(5000);
    expect(execution).toMatchObject({ status: 'error', error: { ename: 'ZeroDivisionError' }, endedAt: '2025-03-04T10:00:01.523Z' });
  });

  it('never expires a long-running execution that got neither idle nor reply', () => {
    let now = Date.parse('2025-03-04T10:00:02Z');
    const recorder = new ExecutionRecorder({ now: () => new Date(now) });
    const req = executeRequest('train()');
    feed(recorder, [req, busy(req), stream(req, 'epoch 1\n')]);
    now += 3_600_000;
    expect(recorder.expireStale(5000)).toEqual([]);
    expect(recorder.inFlight).toBe(1);
  });

  it('abandons in-flight executions as aborted when the kernel goes away', () => {
    const now = Date.parse('2025-03-04T11:00:00Z');
    const recorder = new ExecutionRecorder({ now: () => new Date(now) });
    const running = executeRequest('train()');
    const queued = executeRequest('evaluate()');
    feed(recorder, [running, queued, busy(running), executeInput(running, 'train()', 3), stream(running, 'epoch 1\n')]);
    const done = recorder.abandonAll();
    expect(done.map((e) => [e.source, e.status, e.executionCount, e.endedAt])).toEqual([
      ['train()', 'aborted', 3, '2025-03-04T11:00:00.000Z'],
      ['evaluate()', 'aborted', null, '2025-03-04T11:00:00.000Z'],
    ]);
    expect(done[0]?.outputs).toEqual([{ output_type: 'stream', name: 'stdout', text: 'epoch 1\n' }]);
    expect(recorder.inFlight).toBe(0);
  });

  it('never reports an end before the start when clocks disagree', () => {
    const recorder = new ExecutionRecorder();
    const req = executeRequest('1');
    const [execution] = feed(recorder, [req, busy(req, '2025-03-04T10:00:05.000Z'), executeReplyOk(req, 1), idle(req, '2025-03-04T10:00:04.000Z')]);
    expect(execution?.startedAt).toBe('2025-03-04T10:00:05.000Z');
    expect(execution?.endedAt).toBe('2025-03-04T10:00:05.000Z');
  });
});
