import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { IStartRunInput } from '../api';
import { cell, FakeIngestApi, httpError, unreachable } from '../test-support/fake-api';
import { IndexedDbOutbox } from './idb-outbox';
import { MemoryOutbox } from './outbox';
import { SinglePageLiveness } from './page-liveness';
import type { IRunRequest } from './run-takeover';
import { type IShipperOptions, Shipper } from './shipper';

function start(clientKey: string): IStartRunInput {
  return {
    project: 'team/proj',
    clientKey,
    notebookPath: 'analysis.ipynb',
    kernelName: 'python3',
    startedAt: '2025-03-04T10:00:00.000Z',
  };
}

function req(clientKey: string, overrides: Partial<IRunRequest> = {}): IRunRequest {
  return { start: start(clientKey), kernelId: 'kernel-1', ...overrides };
}

describe('Shipper', () => {
  let api: FakeIngestApi;
  let shipper: Shipper;

  beforeEach(() => {
    vi.useFakeTimers();
    api = new FakeIngestApi();
    shipper = new Shipper({ api, random: () => 1 });
  });

  afterEach(() => {
    shipper.dispose();
    vi.useRealTimers();
  });

  it('starts the run, sends cells in one debounced batch, then ends the run', async () => {
    void shipper.startRun(req('key-1'));
    await vi.advanceTimersByTimeAsync(0);
    expect(api.calls.map((c) => c.op)).toEqual(['startRun']);
    expect(shipper.runInfo('key-1')?.name).toBe('run-1');

    void shipper.addCells('key-1', [cell('a')]);
    await vi.advanceTimersByTimeAsync(100);
    void shipper.addCells('key-1', [cell('b')]);
    void shipper.addCells('key-1', [cell('c')]);
    expect(shipper.pending).toBe(3);
    await vi.advanceTimersByTimeAsync(300);
    expect(api.calls.map((c) => c.op)).toEqual(['startRun', 'cells']);
    expect(api.acceptedKeys()).toEqual(['a', 'b', 'c']);
    expect(shipper.pending).toBe(0);

    void shipper.endRun('key-1', 'finished', '2025-03-04T11:00:00.000Z');
    await vi.advanceTimersByTimeAsync(300);
    expect(api.calls[2]).toMatchObject({
      op: 'endRun',
      input: { runId: '00000000-0000-4000-8000-000000000001', status: 'finished', endedAt: '2025-03-04T11:00:00.000Z' },
    });
    expect(shipper.runInfo('key-1')).toBeNull();
  });

  it('loses nothing through a server outage and backs off exponentially', async () => {
    let down = true;
    api.failWith = () => (down ? unreachable() : null);
    const errors: Array<string | null> = [];
    shipper.changed.connect(() => errors.push(shipper.error?.message ?? null));

    void shipper.startRun(req('key-1'));
    void shipper.addCells('key-1', [cell('a'), cell('b')]);
    await vi.advanceTimersByTimeAsync(0);
    expect(api.calls).toHaveLength(1);
    expect(shipper.error?.message).toBe('Cellmark server unreachable at http://cellmark.test');

    await vi.advanceTimersByTimeAsync(999);
    expect(api.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(api.calls).toHaveLength(2); // after 1 s
    await vi.advanceTimersByTimeAsync(1999);
    expect(api.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(api.calls).toHaveLength(3); // after 2 s more

    // New cells during the outage wait for the backoff instead of hammering the server.
    void shipper.addCells('key-1', [cell('c')]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(api.calls).toHaveLength(3);

    down = false;
    await vi.advanceTimersByTimeAsync(3000);
    expect(api.acceptedKeys()).toEqual(['a', 'b', 'c']);
    expect(shipper.pending).toBe(0);
    expect(shipper.error).toBeNull();
    // Every retry used the same clientKey, so the server created one run.
    const starts = api.calls.filter((c) => c.op === 'startRun');
    expect(new Set(starts.map((c) => (c.op === 'startRun' ? c.input.clientKey : '')))).toEqual(new Set(['key-1']));
    expect(errors.filter((e) => e !== null).length).toBeGreaterThan(0);
    expect(errors[errors.length - 1]).toBeNull();
  });

  it('caps the backoff', async () => {
    shipper.dispose();
    shipper = new Shipper({ api, random: () => 1, initialBackoffMs: 1000, maxBackoffMs: 4000 });
    api.failWith = () => unreachable();
    void shipper.startRun(req('key-1'));
    await vi.advanceTimersByTimeAsync(0 + 1000 + 2000 + 4000);
    expect(api.calls).toHaveLength(4);
    await vi.advanceTimersByTimeAsync(4000);
    expect(api.calls).toHaveLength(5);
  });

  describe('recovery after an outage', () => {
    /** The server refuses connections until `up`; /healthz with it, as a real one does. */
    let up: boolean;
    beforeEach(() => {
      up = false;
      api.failWith = () => (up ? null : unreachable());
    });

    it('sends what waited within 5 s of the server being healthy, however long the backoff grew', async () => {
      void shipper.startRun(req('key-1'));
      void shipper.addCells('key-1', [cell('a')]);
      // 80 s down: the backoff has grown to 32 s and more
      await vi.advanceTimersByTimeAsync(80_000);
      void shipper.addCells('key-1', [cell('b'), cell('c')]);
      await vi.advanceTimersByTimeAsync(1000);
      expect(api.acceptedKeys()).toEqual([]);
      expect(shipper.error?.kind).toBe('unreachable');
      const tries = api.calls.length;
      expect(tries).toBeLessThan(10); // the backoff is still polite to a dead server

      up = true;
      await vi.advanceTimersByTimeAsync(5000);
      expect(api.acceptedKeys()).toEqual(['a', 'b', 'c']);
      expect(shipper.pending).toBe(0);
      expect(shipper.error).toBeNull();
      expect(api.healthChecks).toBeGreaterThan(60); // about one probe a second (random 1: every 1.2 s)
    });

    it('says it is healthy again within 2 s of the server being back', async () => {
      const errors: Array<string | null> = [];
      void shipper.startRun(req('key-1'));
      void shipper.addCells('key-1', [cell('a')]);
      await vi.advanceTimersByTimeAsync(120_000);
      shipper.changed.connect(() => errors.push(shipper.error?.kind ?? null));
      up = true;
      await vi.advanceTimersByTimeAsync(2000);
      expect(shipper.error).toBeNull();
      expect(errors[errors.length - 1]).toBeNull();
      expect(api.acceptedKeys()).toEqual(['a']);
    });

    it('does not probe for answers that mean overloaded: 5xx and 429 get the plain backoff', async () => {
      api.failWith = (call) => (call.op !== 'health' && !up ? httpError(503, 'database unavailable') : null);
      void shipper.startRun(req('key-1'));
      await vi.advanceTimersByTimeAsync(0 + 1000 + 2000);
      expect(api.calls).toHaveLength(3);
      up = true;
      await vi.advanceTimersByTimeAsync(3999);
      expect(api.calls).toHaveLength(3); // the 4 s backoff runs out, /healthz or not
      await vi.advanceTimersByTimeAsync(1);
      expect(api.calls).toHaveLength(4);
      expect(api.healthChecks).toBe(0);
    });

    it('backs off from a server that answers /healthz but not ingest, instead of a request a second', async () => {
      api.failWith = (call) => (call.op === 'health' ? null : unreachable());
      void shipper.startRun(req('key-1'));
      await vi.advanceTimersByTimeAsync(1000); // after the first wait (1 s, before any probe)
      expect(api.calls).toHaveLength(2);
      await vi.advanceTimersByTimeAsync(1200); // the first 200 ends the 2 s wait
      expect(api.calls).toHaveLength(3);
      await vi.advanceTimersByTimeAsync(3999); // from now on only the backoff does (4 s, 8 s …)
      expect(api.calls).toHaveLength(3);
      await vi.advanceTimersByTimeAsync(1);
      expect(api.calls).toHaveLength(4);
      await vi.advanceTimersByTimeAsync(60_000);
      expect(api.calls.length).toBeLessThan(8);
      expect(api.healthChecks).toBeGreaterThan(40);
    });

    it('stops probing when disposed, and when retryNow starts over', async () => {
      void shipper.startRun(req('key-1'));
      await vi.advanceTimersByTimeAsync(10_000);
      const probes = api.healthChecks;
      expect(probes).toBeGreaterThan(5);
      shipper.dispose();
      await vi.advanceTimersByTimeAsync(60_000);
      expect(api.healthChecks).toBe(probes);
      expect(vi.getTimerCount()).toBe(0);
    });
  });

  it('keeps a rejected batch and retries it only after retryNow (settings changed)', async () => {
    let token = 'revoked';
    api.failWith = (call) => (token === 'revoked' && call.op === 'cells' ? httpError(401, 'API token revoked') : null);
    void shipper.startRun(req('key-1'));
    void shipper.addCells('key-1', [cell('a')]);
    await vi.advanceTimersByTimeAsync(300);
    expect(shipper.error?.message).toBe('token rejected (401): API token revoked');
    const attempts = api.calls.length;

    await vi.advanceTimersByTimeAsync(120_000);
    expect(api.calls.length).toBe(attempts); // no retry loop against a 401
    // New executions queue behind the parked batch instead of hitting the server again.
    void shipper.addCells('key-1', [cell('b')]);
    await vi.advanceTimersByTimeAsync(300);
    expect(api.calls.length).toBe(attempts);
    expect(shipper.pending).toBe(2);

    token = 'fixed';
    shipper.retryNow();
    await vi.advanceTimersByTimeAsync(0);
    expect(api.acceptedKeys()).toEqual(['a', 'b']);
    expect(shipper.error).toBeNull();
    expect(shipper.pending).toBe(0);
  });

  it('does not let one parked run block another', async () => {
    api.failWith = (call) => (call.op === 'cells' && call.cells[0]?.executionKey === 'bad' ? httpError(400, 'cells.0.source: too big') : null);
    void shipper.startRun(req('key-1'));
    void shipper.startRun(req('key-2'));
    void shipper.addCells('key-1', [cell('bad')]);
    void shipper.addCells('key-2', [cell('good')]);
    await vi.advanceTimersByTimeAsync(300);
    expect(api.acceptedKeys()).toEqual(['good']);
    expect(shipper.error?.message).toBe('invalid data (400): cells.0.source: too big');
    expect(shipper.pending).toBe(1);
  });

  it('sends at most 500 cells per request', async () => {
    void shipper.startRun(req('key-1'));
    void shipper.addCells(
      'key-1',
      Array.from({ length: 1200 }, (_, i) => cell(`k${i}`)),
    );
    await vi.advanceTimersByTimeAsync(300);
    const sizes = api.calls.flatMap((c) => (c.op === 'cells' ? [c.cells.length] : []));
    expect(sizes).toEqual([500, 500, 200]);
  });

  it('halves the batch when the server says it is too large', async () => {
    api.failWith = (call) => (call.op === 'cells' && call.cells.length > 2 ? httpError(413, 'request body too large') : null);
    void shipper.startRun(req('key-1'));
    void shipper.addCells(
      'key-1',
      Array.from({ length: 10 }, (_, i) => cell(`k${i}`)),
    );
    await vi.advanceTimersByTimeAsync(300);
    expect(api.acceptedKeys()).toHaveLength(10);
    expect(shipper.error).toBeNull();
  });

  it('sends nothing while not configured, and everything once configured', async () => {
    let configured = false;
    shipper.dispose();
    shipper = new Shipper({ api, canSend: () => configured });
    void shipper.startRun(req('key-1'));
    void shipper.addCells('key-1', [cell('a')]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(api.calls).toHaveLength(0);
    expect(shipper.error).toBeNull();

    configured = true;
    shipper.retryNow();
    await vi.advanceTimersByTimeAsync(0);
    expect(api.acceptedKeys()).toEqual(['a']);
  });

  it('sends cells recorded before the run was accepted, in order, before endRun', async () => {
    api.failWith = (call) => (call.op === 'startRun' && api.calls.length < 2 ? httpError(503, 'starting up') : null);
    void shipper.startRun(req('key-1'));
    void shipper.addCells('key-1', [cell('a')]);
    void shipper.addCells('key-1', [cell('b')]);
    void shipper.endRun('key-1', 'crashed', '2025-03-04T10:05:00.000Z');
    await vi.advanceTimersByTimeAsync(5000);
    expect(api.calls.map((c) => `${c.op}${c.failed ? '!' : ''}`)).toEqual(['startRun!', 'startRun!', 'startRun', 'cells', 'endRun']);
    expect(api.acceptedKeys()).toEqual(['a', 'b']);
  });

  it('creates a not-yet-created run in the corrected project', async () => {
    let project = 'team/typo';
    shipper.dispose();
    shipper = new Shipper({ api, project: () => project });
    api.failWith = (call) => (call.op === 'startRun' && call.input.project === 'team/typo' ? httpError(403, 'no access to team/typo') : null);
    void shipper.startRun({ start: { ...start('key-1'), project: 'team/typo' }, kernelId: 'kernel-1' });
    void shipper.addCells('key-1', [cell('a')]);
    await vi.advanceTimersByTimeAsync(300);
    expect(shipper.error?.message).toBe('forbidden (403): no access to team/typo');

    project = 'team/proj';
    shipper.retryNow();
    await vi.advanceTimersByTimeAsync(300);
    expect(api.calls.filter((c) => !c.failed).map((c) => (c.op === 'startRun' ? c.input.project : c.op))).toEqual(['team/proj', 'cells']);
    expect(shipper.error).toBeNull();
  });

  it('drops a run that ended before it was created and recorded nothing', async () => {
    api.failWith = () => unreachable();
    void shipper.startRun(req('key-1'));
    void shipper.endRun('key-1', 'finished', '2025-03-04T10:01:00.000Z');
    await vi.advanceTimersByTimeAsync(300);
    const attempts = api.calls.length;
    api.failWith = () => null;
    shipper.retryNow();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(api.calls.length).toBe(attempts); // nothing left to send
    expect(shipper.error).toBeNull();
  });
});

describe('Shipper: restarts, pages and the persistent outbox', () => {
  let api: FakeIngestApi;
  const shippers: Shipper[] = [];
  const make = (options: Partial<IShipperOptions> = {}) => {
    const shipper = new Shipper({ api, random: () => 1, ...options });
    shippers.push(shipper);
    return shipper;
  };

  beforeEach(() => {
    vi.useFakeTimers();
    api = new FakeIngestApi();
  });

  afterEach(() => {
    shippers.splice(0).forEach((s) => s.dispose());
    vi.useRealTimers();
  });

  it('creates the run after a restart with previousRunId, even when the first was not created yet', async () => {
    const shipper = make();
    let down = true;
    api.failWith = () => (down ? unreachable() : null);
    void shipper.startRun(req('before'));
    void shipper.addCells('before', [cell('a')]);
    void shipper.endRun('before', 'finished', '2025-03-04T10:10:00.000Z');
    void shipper.startRun(req('after', { previousClientKey: 'before' }));
    void shipper.addCells('after', [cell('b')]);
    await vi.advanceTimersByTimeAsync(300);
    down = false;
    await vi.advanceTimersByTimeAsync(2000);
    const starts = api.calls.filter((c) => c.op === 'startRun' && !c.failed);
    expect(starts.map((c) => (c.op === 'startRun' ? [c.input.clientKey, c.input.previousRunId] : []))).toEqual([
      ['before', undefined],
      ['after', '00000000-0000-4000-8000-000000000001'],
    ]);
    expect(api.acceptedKeys()).toEqual(['a', 'b']);
  });

  it('links past a run that was dropped for being empty', async () => {
    const shipper = make();
    api.failWith = (call) => (call.op === 'startRun' && call.input.clientKey === 'second' && api.calls.length < 3 ? unreachable() : null);
    void shipper.startRun(req('first'));
    await vi.advanceTimersByTimeAsync(0); // created
    void shipper.startRun(req('second', { previousClientKey: 'first' }));
    void shipper.endRun('first', 'finished', '2025-03-04T10:10:00.000Z');
    void shipper.endRun('second', 'finished', '2025-03-04T10:11:00.000Z'); // restarted at once, ran nothing
    void shipper.startRun(req('third', { previousClientKey: 'second' }));
    void shipper.addCells('third', [cell('c')]);
    await vi.advanceTimersByTimeAsync(5000);
    const third = api.calls.find((c) => c.op === 'startRun' && c.input.clientKey === 'third');
    expect(third?.op === 'startRun' ? third.input.previousRunId : 'missing').toBe('00000000-0000-4000-8000-000000000001');
    expect(api.calls.some((c) => c.op === 'startRun' && c.input.clientKey === 'second' && !c.failed)).toBe(false);
  });

  it('sends what an earlier page left in the outbox: run start, cells and end, under the same keys', async () => {
    vi.useRealTimers(); // fake-indexeddb schedules with real timers
    const outbox = await IndexedDbOutbox.open(`shipper-reload-${Math.random()}`);
    api.failWith = () => unreachable();
    const before = make({ outbox, liveness: new SinglePageLiveness('page-before'), debounceMs: 0, initialBackoffMs: 60_000 });
    void before.startRun(req('key-1'));
    void before.addCells('key-1', [cell('a'), cell('b')]);
    await before.endRun('key-1', 'crashed', '2025-03-04T10:10:00.000Z');
    await vi.waitFor(() => expect(before.error?.kind).toBe('unreachable'));
    before.dispose(); // the page reloads

    api.failWith = () => null;
    const after = make({ outbox, liveness: new SinglePageLiveness('page-after'), debounceMs: 0 });
    await vi.waitFor(async () => expect(await outbox.runs()).toEqual([]));
    expect(api.calls.filter((c) => !c.failed).map((c) => c.op)).toEqual(['startRun', 'cells', 'endRun']);
    const start = api.calls.find((c) => c.op === 'startRun' && !c.failed);
    expect(start?.op === 'startRun' ? start.input.clientKey : '').toBe('key-1');
    expect(api.acceptedKeys()).toEqual(['a', 'b']);
    await vi.waitFor(() => expect(after.pending).toBe(0));
    outbox.close();
  });

  it('counts what earlier pages left as pending', async () => {
    const outbox = new MemoryOutbox();
    await outbox.addRun({ clientKey: 'old', start: start('old'), previousClientKey: null, kernelId: 'k', owner: 'gone', createdAt: 1, run: null, end: null });
    await outbox.addCells('old', [cell('a'), cell('b')]);
    const shipper = make({ outbox, canSend: () => false });
    await vi.advanceTimersByTimeAsync(0);
    expect(shipper.pending).toBe(2);
  });

  it('records into the run it continues for a reloaded page, and sends what follows', async () => {
    const outbox = new MemoryOutbox();
    const run = { runId: 'id-reloaded', name: 'run-reloaded', url: '/runs/reloaded' };
    await outbox.addRun({
      clientKey: 'reloaded',
      start: start('reloaded'),
      previousClientKey: null,
      kernelId: 'kernel-a',
      owner: 'gone-page',
      createdAt: 1,
      run,
      end: null,
    });
    const shipper = make({ outbox, liveness: new SinglePageLiveness('me') });
    expect(await shipper.resumeRun('kernel-a', 'team/proj')).toEqual({ clientKey: 'reloaded', run });
    expect(shipper.runInfo('reloaded')?.name).toBe('run-reloaded');
    void shipper.addCells('reloaded', [cell('a')]);
    await vi.advanceTimersByTimeAsync(300);
    expect(api.calls.map((c) => c.op)).toEqual(['cells']);
    expect(api.acceptedKeys()).toEqual(['a']);
  });

  it('sends the end of the runs endOrphans ended, after their cells', async () => {
    const outbox = new MemoryOutbox();
    const add = (clientKey: string, owner: string, kernelId: string) =>
      outbox.addRun({ clientKey, start: start(clientKey), previousClientKey: null, kernelId, owner, createdAt: 1, run: null, end: null });
    await add('kernel-gone', 'gone-page', 'dead-kernel');
    await add('kernel-lives', 'gone-page', 'live-kernel');
    await add('page-open', 'open-page', 'dead-kernel');
    await outbox.addCells('kernel-gone', [cell('a')]);
    const shipper = make({ outbox, liveness: new SinglePageLiveness('me', new Set(['open-page'])), now: () => new Date('2025-03-04T12:00:00.000Z') });
    expect(await shipper.endOrphans((id) => id === 'live-kernel')).toBe(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(api.calls.filter((c) => c.op === 'endRun').map((c) => (c.op === 'endRun' ? c.input : null))).toEqual([
      { runId: '00000000-0000-4000-8000-000000000001', status: 'finished', endedAt: '2025-03-04T12:00:00.000Z' },
    ]);
    expect(api.acceptedKeys()).toEqual(['a']);
  });

  it('says so when the browser cannot keep recorded data', async () => {
    const shipper = make();
    await shipper.addCells('unknown-run', [cell('a')]);
    expect(shipper.error?.kind).toBe('storage');
    expect(shipper.error?.message).toMatch(/could not keep recorded data in the browser: Cellmark outbox: no run unknown-run/);
  });

  describe('flushOnHide', () => {
    const running = (key: string, position: number) => ({
      executionKey: key,
      cellId: `cell-${key}`,
      executionCount: null,
      position,
      source: 'train()',
      status: 'running' as const,
      error: null,
      startedAt: '2025-03-04T10:00:02.000Z',
      endedAt: null,
    });
    const keepalives = () => api.calls.filter((c) => c.op === 'cells' && c.keepalive);
    let shipper: Shipper;
    beforeEach(() => {
      shipper = make();
    });

    it('sends what the server has not taken yet at once, with keepalive, and the position of what still runs', async () => {
      void shipper.startRun(req('key-1'));
      await vi.advanceTimersByTimeAsync(0); // the run exists on the server
      api.failWith = (call) => (call.op === 'cells' && !call.keepalive ? unreachable() : null);
      void shipper.addCells('key-1', [cell('a', { position: 0 }), cell('b', { position: 1 })]);
      // the page goes away before the debounce: nothing waits for a timer or IndexedDB
      expect(shipper.flushOnHide([{ clientKey: 'key-1', records: [running('c', 2), running('a', 0)] }])).toBe(1);
      const [call] = keepalives();
      expect(call?.op === 'cells' ? [call.runId, call.cells.map((c) => [c.executionKey, c.position, c.status, c.outputs !== undefined])] : null).toEqual([
        '00000000-0000-4000-8000-000000000001',
        [
          ['a', 0, 'ok', true],
          ['b', 1, 'ok', true],
          ['c', 2, 'running', false],
        ],
      ]);
      // a second event of the same hiding (visibilitychange, then pagehide) sends nothing again
      expect(shipper.flushOnHide([{ clientKey: 'key-1', records: [running('c', 2)] }])).toBe(0);
      shipper.pageShown();
      api.failWith = () => null;
      await vi.advanceTimersByTimeAsync(300);
      expect(api.acceptedKeys()).toEqual(['a', 'b', 'c', 'a', 'b']); // the outbox still sent its own
      expect(shipper.flushOnHide([])).toBe(0); // accepted: nothing left to send
    });

    it('keeps a run the server has not created for the next page: the outbox has it', async () => {
      api.failWith = () => unreachable();
      void shipper.startRun(req('key-1'));
      void shipper.addCells('key-1', [cell('a')]);
      await vi.advanceTimersByTimeAsync(0);
      expect(shipper.flushOnHide([{ clientKey: 'key-1', records: [running('b', 1)] }])).toBe(0);
      expect(keepalives()).toEqual([]);
      api.failWith = () => null;
      await vi.advanceTimersByTimeAsync(1000);
      expect(api.acceptedKeys()).toEqual(['a']);
    });

    it('counts its requests still in flight against the 64 KiB, and frees them when they fail', async () => {
      void shipper.startRun(req('key-1'));
      await vi.advanceTimersByTimeAsync(0);
      api.failWith = () => unreachable();
      const text = 'x'.repeat(40_000);
      void shipper.addCells('key-1', [cell('a', { outputs: [{ output_type: 'stream', name: 'stdout', text }] })]);
      void shipper.addCells('key-1', [cell('b', { outputs: [{ output_type: 'stream', name: 'stdout', text }] })]);
      shipper.flushOnHide();
      const first = keepalives()[0];
      expect(first?.op === 'cells' ? first.cells.map((c) => [c.executionKey, c.outputs !== undefined]) : null).toEqual([
        ['a', true],
        ['b', false],
      ]);
      await vi.advanceTimersByTimeAsync(0); // it failed: its bytes and what it carried are free again
      shipper.flushOnHide();
      const second = keepalives()[1];
      expect(second?.op === 'cells' ? second.cells.map((c) => [c.executionKey, c.outputs !== undefined]) : null).toEqual([
        ['a', true],
        ['b', false],
      ]);
    });

    it('remembers only the newest 200 cells (the outbox keeps every one)', async () => {
      void shipper.startRun(req('key-1'));
      await vi.advanceTimersByTimeAsync(0);
      api.failWith = (call) => (call.op === 'cells' && !call.keepalive ? unreachable() : null);
      void shipper.addCells(
        'key-1',
        Array.from({ length: 300 }, (_, i) => cell(`c${i}`)),
      );
      shipper.flushOnHide();
      const keys = keepalives().flatMap((c) => (c.op === 'cells' ? c.cells.map((x) => x.executionKey) : []));
      expect(keys).toHaveLength(200);
      expect(keys[0]).toBe('c100');
    });
  });
});
