import { describe, expect, it } from 'vitest';
import type { IStartRunInput } from '../api';
import { cell } from '../test-support/fake-api';
import { type IOutboxRun, MemoryOutbox } from './outbox';
import { SinglePageLiveness } from './page-liveness';
import { RELEASED, RunTakeover } from './run-takeover';

function start(clientKey: string): IStartRunInput {
  return {
    project: 'team/proj',
    clientKey,
    notebookPath: 'analysis.ipynb',
    kernelName: 'python3',
    startedAt: '2025-03-04T10:00:00.000Z',
  };
}

function entry(clientKey: string, owner: string, kernelId: string, overrides: Partial<IOutboxRun> = {}): IOutboxRun {
  return { clientKey, start: start(clientKey), previousClientKey: null, kernelId, owner, createdAt: 1, run: null, end: null, ...overrides };
}

const created = (clientKey: string) => ({ runId: `id-${clientKey}`, name: `run-${clientKey}`, url: `/runs/${clientKey}` });
const NOW = new Date('2025-03-04T12:00:00.000Z');

/** This page is "me"; "open-page" is another open tab; every other page is gone. */
function takeover(outbox: MemoryOutbox) {
  return new RunTakeover(outbox, new SinglePageLiveness('me', new Set(['open-page'])), () => NOW);
}

describe('RunTakeover', () => {
  it('queues a new run for this page, and takes over one queued under the same key, answering with its server run', async () => {
    const outbox = new MemoryOutbox();
    const runs = takeover(outbox);
    expect(await runs.claim({ start: start('fresh'), kernelId: 'kernel-a', previousClientKey: 'before' })).toBeNull();
    expect(await outbox.getRun('fresh')).toEqual({
      ...entry('fresh', 'me', 'kernel-a'),
      previousClientKey: 'before',
      createdAt: NOW.getTime(),
    });

    await outbox.addRun(entry('other-tab', 'open-page', 'kernel-b', { run: created('other-tab') }));
    expect(await runs.claim({ start: start('other-tab'), kernelId: 'kernel-b' })).toEqual(created('other-tab'));
    expect((await outbox.getRun('other-tab'))?.owner).toBe('me');
  });

  it('leaves the owner of a queued run that already ended', async () => {
    const outbox = new MemoryOutbox();
    await outbox.addRun(entry('ended', 'gone-page', 'kernel-a', { end: { status: 'finished', endedAt: NOW.toISOString() } }));
    expect(await takeover(outbox).claim({ start: start('ended'), kernelId: 'kernel-a' })).toBeNull();
    expect((await outbox.getRun('ended'))?.owner).toBe('gone-page');
  });

  it('continues an open run of the same kernel whose page is gone, not one whose page is open', async () => {
    const outbox = new MemoryOutbox();
    await outbox.addRun(entry('reloaded', 'gone-page', 'kernel-a', { run: created('reloaded') }));
    await outbox.addRun(entry('other-tab', 'open-page', 'kernel-b', { run: created('other-tab') }));
    const runs = takeover(outbox);
    expect(await runs.resume('kernel-a', 'team/proj')).toMatchObject({ clientKey: 'reloaded', owner: 'me', run: created('reloaded') });
    expect((await outbox.getRun('reloaded'))?.owner).toBe('me');
    expect(await runs.resume('kernel-b', 'team/proj')).toBeNull();
    expect(await runs.resume('kernel-a', 'team/other')).toBeNull();
  });

  it('ends open runs whose page and kernel are both gone, and released runs whose kernel is gone', async () => {
    const outbox = new MemoryOutbox();
    await outbox.addRun(entry('kernel-gone', 'gone-page', 'dead-kernel'));
    await outbox.addRun(entry('kernel-lives', 'gone-page', 'live-kernel'));
    await outbox.addRun(entry('page-open', 'open-page', 'dead-kernel'));
    await outbox.addRun(entry('released', 'me', 'dead-kernel'));
    await outbox.addRun(entry('mine', 'me', 'dead-kernel'));
    await outbox.addCells('kernel-gone', [cell('a')]);
    const runs = takeover(outbox);
    await runs.release('released');
    expect((await outbox.getRun('released'))?.owner).toBe(RELEASED);
    expect(await runs.endOrphans((id) => id === 'live-kernel')).toBe(2);
    const ends = Object.fromEntries((await outbox.runs()).map((r) => [r.clientKey, r.end]));
    expect(ends).toEqual({
      'kernel-gone': { status: 'finished', endedAt: NOW.toISOString() },
      'kernel-lives': null,
      'page-open': null,
      released: { status: 'finished', endedAt: NOW.toISOString() },
      mine: null,
    });
  });
});
