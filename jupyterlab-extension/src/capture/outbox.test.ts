// One contract suite for every IOutbox, plus what only the IndexedDB outbox
// promises: it survives the page (a new connection sees everything).
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cell } from '../test-support/fake-api';
import { IndexedDbOutbox, openOutbox } from './idb-outbox';
import { type IOutbox, type IOutboxRun, MemoryOutbox } from './outbox';

let dbCounter = 0;
const opened: IndexedDbOutbox[] = [];

function outboxRun(clientKey: string, overrides: Partial<IOutboxRun> = {}): IOutboxRun {
  return {
    clientKey,
    start: {
      project: 'team/proj',
      clientKey,
      notebookPath: 'a.ipynb',
      kernelName: 'python3',
      startedAt: '2025-03-04T10:00:00.000Z',
    },
    previousClientKey: null,
    kernelId: 'kernel-1',
    owner: 'page-1',
    createdAt: 1,
    run: null,
    end: null,
    ...overrides,
  };
}

const implementations: Array<[string, () => Promise<IOutbox>]> = [
  ['MemoryOutbox', async () => new MemoryOutbox()],
  [
    'IndexedDbOutbox',
    async () => {
      const outbox = await IndexedDbOutbox.open(`outbox-test-${++dbCounter}`);
      opened.push(outbox);
      return outbox;
    },
  ],
];

afterEach(() => {
  opened.splice(0).forEach((o) => o.close());
});

describe.each(implementations)('%s (IOutbox contract)', (_name, create) => {
  it('keeps runs oldest first and a re-added run as it was', async () => {
    const outbox = await create();
    await outbox.addRun(outboxRun('b', { createdAt: 20 }));
    await outbox.addRun(outboxRun('a', { createdAt: 10 }));
    await outbox.addRun(outboxRun('a', { createdAt: 30, owner: 'other' }));
    expect((await outbox.runs()).map((r) => `${r.clientKey}:${r.owner}`)).toEqual(['a:page-1', 'b:page-1']);
  });

  it('patches a run: the created run, its end, its owner', async () => {
    const outbox = await create();
    await outbox.addRun(outboxRun('a'));
    await outbox.updateRun('a', { run: { runId: 'r1', name: 'brave-otter', url: '/t/x/y/runs/r1' } });
    await outbox.updateRun('a', { end: { status: 'crashed', endedAt: '2025-03-04T11:00:00.000Z' }, owner: 'page-2' });
    await outbox.updateRun('missing', { owner: 'nobody' });
    expect(await outbox.getRun('a')).toMatchObject({
      run: { runId: 'r1', name: 'brave-otter' },
      end: { status: 'crashed' },
      owner: 'page-2',
      kernelId: 'kernel-1',
    });
    expect(await outbox.getRun('missing')).toBeNull();
  });

  it('returns cells in order, in batches within the limits, at least one', async () => {
    const outbox = await create();
    await outbox.addRun(outboxRun('a'));
    await outbox.addCells('a', [cell('k1'), cell('k2')]);
    await outbox.addCells('a', [cell('k3', { source: 'x'.repeat(5000) })]);
    expect((await outbox.peekCells('a', { maxCells: 2, maxBytes: 1e6 })).map((c) => c.executionKey)).toEqual(['k1', 'k2']);
    expect((await outbox.peekCells('a', { maxCells: 10, maxBytes: 1000 })).map((c) => c.executionKey)).toEqual(['k1', 'k2']);
    await outbox.ackCells('a', ['k1', 'k2']);
    // Bigger than the byte limit alone: still sent, on its own.
    expect((await outbox.peekCells('a', { maxCells: 10, maxBytes: 1000 })).map((c) => c.executionKey)).toEqual(['k3']);
  });

  it('keeps one record per execution key (idempotent re-recording)', async () => {
    const outbox = await create();
    await outbox.addRun(outboxRun('a'));
    await outbox.addCells('a', [cell('k1', { status: 'error' }), cell('k2')]);
    await outbox.addCells('a', [cell('k1', { status: 'ok' })]);
    expect(await outbox.countCells()).toBe(2);
    const cells = await outbox.peekCells('a', { maxCells: 10, maxBytes: 1e6 });
    expect(cells.map((c) => `${c.executionKey}:${c.status}`).sort()).toEqual(['k1:ok', 'k2:ok']);
  });

  it('refuses cells for a run it does not hold', async () => {
    const outbox = await create();
    await expect(outbox.addCells('nope', [cell('k1')])).rejects.toThrow(/no run nope/);
    expect(await outbox.countCells()).toBe(0);
  });

  it('counts per run and in all, and forgets a removed run with its cells', async () => {
    const outbox = await create();
    await outbox.addRun(outboxRun('a'));
    await outbox.addRun(outboxRun('b'));
    await outbox.addCells('a', [cell('k1'), cell('k2')]);
    await outbox.addCells('b', [cell('k1')]);
    expect([await outbox.countCells('a'), await outbox.countCells('b'), await outbox.countCells()]).toEqual([2, 1, 3]);
    await outbox.removeRun('a');
    expect(await outbox.countCells()).toBe(1);
    expect((await outbox.runs()).map((r) => r.clientKey)).toEqual(['b']);
    expect(await outbox.peekCells('a', { maxCells: 10, maxBytes: 1e6 })).toEqual([]);
  });

  it('keeps rich outputs intact', async () => {
    const outbox = await create();
    await outbox.addRun(outboxRun('a'));
    const outputs = [
      { output_type: 'display_data' as const, data: { 'image/png': 'iVBORw0KGgo=', 'text/plain': '<Figure>' }, metadata: { 'image/png': { width: 4 } } },
    ];
    await outbox.addCells('a', [cell('k1', { outputs, position: 3 })]);
    expect(await outbox.peekCells('a', { maxCells: 1, maxBytes: 1e6 })).toEqual([cell('k1', { outputs, position: 3 })]);
  });
});

describe('IndexedDbOutbox', () => {
  it('keeps runs and cells for the next page (a new connection to the same database)', async () => {
    const name = `outbox-reload-${++dbCounter}`;
    const before = await IndexedDbOutbox.open(name);
    await before.addRun(outboxRun('a', { end: { status: 'finished', endedAt: '2025-03-04T11:00:00.000Z' } }));
    await before.addCells('a', [cell('k1'), cell('k2')]);
    await before.ackCells('a', ['k1']);
    before.close();

    const after = await IndexedDbOutbox.open(name);
    opened.push(after);
    expect(await after.runs()).toEqual([outboxRun('a', { end: { status: 'finished', endedAt: '2025-03-04T11:00:00.000Z' } })]);
    expect((await after.peekCells('a', { maxCells: 10, maxBytes: 1e6 })).map((c) => c.executionKey)).toEqual(['k2']);
    // Cells the next page adds go after the ones left over.
    await after.addCells('a', [cell('k3')]);
    expect((await after.peekCells('a', { maxCells: 10, maxBytes: 1e6 })).map((c) => c.executionKey)).toEqual(['k2', 'k3']);
  });

  it("puts the next page's cells after the earlier ones even when the clock is behind them", async () => {
    const name = `outbox-clock-${++dbCounter}`;
    const now = vi.spyOn(Date, 'now').mockReturnValue(2_000_000);
    try {
      const before = await IndexedDbOutbox.open(name);
      await before.addRun(outboxRun('a'));
      await before.addCells('a', [cell('k1'), cell('k2')]);
      before.close();
      now.mockReturnValue(1_000_000); // a clock set back (or a reload within the same millisecond)
      const after = await IndexedDbOutbox.open(name);
      opened.push(after);
      await after.addCells('a', [cell('k3')]);
      expect((await after.peekCells('a', { maxCells: 10, maxBytes: 1e6 })).map((c) => c.executionKey)).toEqual(['k1', 'k2', 'k3']);
    } finally {
      now.mockRestore();
    }
  });

  it('is what openOutbox gives where IndexedDB works', async () => {
    const { outbox, fallbackReason } = await openOutbox({ name: `outbox-open-${++dbCounter}` });
    expect(outbox.persistent).toBe(true);
    expect(fallbackReason).toBeNull();
    (outbox as IndexedDbOutbox).close();
  });

  it('falls back to memory and says why when IndexedDB is missing', async () => {
    const saved = globalThis.indexedDB;
    // @ts-expect-error simulating a browser without IndexedDB
    delete globalThis.indexedDB;
    try {
      const { outbox, fallbackReason } = await openOutbox();
      expect(outbox).toBeInstanceOf(MemoryOutbox);
      expect(outbox.persistent).toBe(false);
      expect(fallbackReason).toBe('this browser offers no IndexedDB');
    } finally {
      globalThis.indexedDB = saved;
    }
  });

  it('falls back to memory when opening fails', async () => {
    const saved = globalThis.indexedDB;
    globalThis.indexedDB = {
      open: () => {
        throw new DOMException('The user denied permission to access the database.', 'InvalidStateError');
      },
    } as unknown as IDBFactory;
    try {
      const { outbox, fallbackReason } = await openOutbox();
      expect(outbox.persistent).toBe(false);
      expect(fallbackReason).toMatch(/^IndexedDB is unavailable \(The user denied permission/);
    } finally {
      globalThis.indexedDB = saved;
    }
  });
});
