// Issue 3 over real HTTP: both capture paths merged, config, environment, blobs, run edits,
// restart links, idle finishing and run filters.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, eventually, signUp, startTestServer, type TestServer, userWithProject } from './helpers.ts';

let server: TestServer;
let alice: Awaited<ReturnType<typeof userWithProject>>;
beforeAll(async () => {
  server = await startTestServer({ CELLMARK_OUTPUT_INLINE_BYTES: '1024', CELLMARK_RUN_IDLE_TIMEOUT_MS: '1500' });
  alice = await userWithProject(server, 'alice');
});
afterAll(() => server?.dispose());

const at = (ms: number) => new Date(Date.UTC(2026, 10, 26, 10, 0, 0, ms)).toISOString();
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

async function newRun(key: string, extra: Record<string, unknown> = {}) {
  return alice.ingest.ingest.startRun.mutate({ project: alice.projectPath, clientKey: key, notebookPath: 'train.ipynb', startedAt: at(0), ...extra });
}

describe('both capture paths', () => {
  it('merge into one row per execution: kernel timing, frontend position and outputs', async () => {
    const { runId } = await newRun('merge-run-1');
    await alice.ingest.ingest.cells.mutate({
      runId,
      origin: 'kernel',
      cells: [{ executionKey: 'm1', cellId: 'c1', executionCount: 1, source: 'lr = 0.1', status: 'running', startedAt: at(100), endedAt: null }],
    });
    const frontend = {
      runId,
      origin: 'frontend' as const,
      cells: [
        {
          executionKey: 'm1',
          cellId: 'c1',
          executionCount: 1,
          position: 4,
          source: 'lr = 0.1',
          outputs: [{ output_type: 'stream' as const, name: 'stdout' as const, text: 'ok\n' }],
          status: 'ok' as const,
          startedAt: at(90),
          endedAt: at(500),
        },
      ],
    };
    await alice.ingest.ingest.cells.mutate(frontend);
    await alice.ingest.ingest.cells.mutate({
      runId,
      origin: 'kernel',
      cells: [
        { executionKey: 'm1', cellId: 'c1', executionCount: 1, source: 'lr = 0.1', status: 'ok', startedAt: at(100), endedAt: at(450), config: { lr: 0.1 } },
      ],
    });
    // a retried frontend batch changes nothing
    expect(await alice.ingest.ingest.cells.mutate(frontend)).toMatchObject({ changed: 0 });

    const got = await alice.api.runs.get.query({ runId });
    expect(got.cells).toHaveLength(1);
    expect(got.cells[0]).toMatchObject({
      status: 'ok',
      position: 4,
      startedAt: at(100),
      endedAt: at(450),
      capturedBy: ['frontend', 'kernel'],
      outputs: [{ output_type: 'stream', name: 'stdout', text: 'ok\n' }],
    });
    expect(got.run.config).toEqual({ lr: 0.1 });
  });

  it('keeps the kernel’s outputs (images as blobs) while the frontend has none, then what the notebook showed', async () => {
    const { runId } = await newRun('merge-run-kernel-outputs');
    const png = PNG.toString('base64');
    const kernelOutputs = [
      { output_type: 'stream' as const, name: 'stdout' as const, text: 'epoch 1\n' },
      { output_type: 'display_data' as const, data: { 'image/png': png, 'text/plain': '<Figure>' }, metadata: {} },
    ];
    const kernelCell = { executionKey: 'k-out', cellId: 'c1', executionCount: 1, source: 'plot()', startedAt: at(100) };
    await alice.ingest.ingest.cells.mutate({
      runId,
      origin: 'kernel',
      cells: [{ ...kernelCell, status: 'running', endedAt: null, outputs: kernelOutputs.slice(0, 1) }],
    });
    await alice.ingest.ingest.cells.mutate({ runId, origin: 'kernel', cells: [{ ...kernelCell, status: 'ok', endedAt: at(400), outputs: kernelOutputs }] });
    // the page went away while the cell ran: it sent the position, no outputs
    await alice.ingest.ingest.cells.mutate({
      runId,
      origin: 'frontend',
      cells: [{ executionKey: 'k-out', cellId: 'c1', position: 2, source: 'plot()', status: 'running', startedAt: at(90), endedAt: null }],
    });
    let [cell] = (await alice.api.runs.get.query({ runId })).cells;
    expect(cell).toMatchObject({ status: 'ok', position: 2, capturedBy: ['frontend', 'kernel'], outputsFrom: 'kernel' });
    expect(cell!.outputs[0]).toEqual(kernelOutputs[0]);
    const image = (cell!.outputs[1] as { data: Record<string, { $blob: string }> }).data['image/png']!;
    const res = await fetch(`${server.url}/api/blobs/${image.$blob}?run=${runId}`, { headers: { cookie: alice.cookie } });
    expect(Buffer.from(await res.arrayBuffer())).toEqual(PNG);

    // the frontend's finished record arrives later (its outbox, the page reopened): what the user saw wins
    const shown = [{ output_type: 'stream' as const, name: 'stdout' as const, text: 'epoch 1 (as shown)\n' }];
    await alice.ingest.ingest.cells.mutate({
      runId,
      origin: 'frontend',
      cells: [
        {
          executionKey: 'k-out',
          cellId: 'c1',
          executionCount: 1,
          position: 2,
          source: 'plot()',
          outputs: shown,
          status: 'ok',
          startedAt: at(90),
          endedAt: at(410),
        },
      ],
    });
    [cell] = (await alice.api.runs.get.query({ runId })).cells;
    expect(cell).toMatchObject({ outputs: shown, outputsFrom: 'frontend', startedAt: at(100), endedAt: at(400) });
    // … and a kernel record arriving after that (its spool retried) does not undo it
    await alice.ingest.ingest.cells.mutate({ runId, origin: 'kernel', cells: [{ ...kernelCell, status: 'ok', endedAt: at(400), outputs: kernelOutputs }] });
    expect((await alice.api.runs.get.query({ runId })).cells[0]).toMatchObject({ outputs: shown, outputsFrom: 'frontend' });
  });

  it('keeps the config history and the last value per key in execution order', async () => {
    const { runId } = await newRun('config-run-1');
    const cell = (n: number, config: Record<string, unknown>) => ({
      executionKey: `k${n}`,
      executionCount: n,
      source: `# ${n}`,
      status: 'ok' as const,
      startedAt: at(n * 100),
      endedAt: at(n * 100 + 50),
      config,
    });
    // arrives out of order: the later execution must still win
    await alice.ingest.ingest.cells.mutate({ runId, origin: 'kernel', cells: [cell(3, { lr: 0.01 })] });
    await alice.ingest.ingest.cells.mutate({
      runId,
      origin: 'kernel',
      cells: [cell(1, { lr: 0.1, layers: [64, 64], optimizer: 'adam' }), cell(2, { epochs: 10 })],
    });
    const got = await alice.api.runs.get.query({ runId });
    expect(got.run.config).toEqual({ lr: 0.01, layers: [64, 64], optimizer: 'adam', epochs: 10 });
    expect(got.configHistory.filter((h) => h.key === 'lr').map((h) => [h.executionCount, h.value])).toEqual([
      [1, 0.1],
      [3, 0.01],
    ]);
  });

  it('stores a config value of null (a Python `best = None`) as JSON null', async () => {
    const { runId } = await newRun('config-run-null');
    await alice.ingest.ingest.cells.mutate({
      runId,
      origin: 'kernel',
      cells: [
        { executionKey: 'n1', executionCount: 1, source: 'best = None', status: 'ok', startedAt: at(0), endedAt: at(1), config: { best: null, lr: 0.1 } },
      ],
    });
    const got = await alice.api.runs.get.query({ runId });
    expect(got.run.config).toEqual({ best: null, lr: 0.1 });
    expect(got.configHistory.map((h) => [h.key, h.value, h.executionCount])).toEqual([
      ['best', null, 1],
      ['lr', 0.1, 1],
    ]);
  });

  it('rejects oversized config values naming the key, writing nothing', async () => {
    const { runId } = await newRun('config-run-2');
    const res = await alice.ingest.ingest.cells
      .mutate({
        runId,
        origin: 'kernel',
        cells: [{ executionKey: 'x1', source: '', status: 'ok', startedAt: at(0), endedAt: at(1), config: { big: 'x'.repeat(5000) } }],
      })
      .catch(errorOf);
    expect(res).toMatchObject({ status: 400 });
    expect((res as { message: string }).message).toMatch(/cells\.0\.config\.big/);
    expect((await alice.api.runs.get.query({ runId })).cells).toHaveLength(0);
  });
});

describe('outputs as blobs', () => {
  it('stores images outside the row and serves them only to people who can read the run', async () => {
    const { runId } = await newRun('blob-run-1');
    await alice.ingest.ingest.cells.mutate({
      runId,
      cells: [
        {
          executionKey: 'img',
          source: 'plot()',
          status: 'ok',
          startedAt: at(0),
          endedAt: at(10),
          outputs: [{ output_type: 'display_data', data: { 'image/png': PNG.toString('base64'), 'text/plain': '<Figure>' } }],
        },
      ],
    });
    const [cell] = (await alice.api.runs.get.query({ runId })).cells;
    const pointer = (cell!.outputs[0] as { data: Record<string, { $blob: string; size: number }> }).data['image/png']!;
    expect(pointer.size).toBe(PNG.length);
    const url = `${server.url}/api/blobs/${pointer.$blob}?run=${runId}`;

    const mine = await fetch(url, { headers: { cookie: alice.cookie } });
    expect(mine.status).toBe(200);
    expect(mine.headers.get('content-type')).toBe('image/png');
    expect(Buffer.compare(Buffer.from(await mine.arrayBuffer()), PNG)).toBe(0);

    expect((await fetch(url)).status).toBe(401);
    const outsider = await signUp(server, 'mallory');
    expect((await fetch(url, { headers: { cookie: outsider.cookie } })).status).toBe(403);
    const { runId: otherRun } = await newRun('blob-run-2');
    expect((await fetch(`${server.url}/api/blobs/${pointer.$blob}?run=${otherRun}`, { headers: { cookie: alice.cookie } })).status).toBe(404);
  });
});

describe('run lifecycle and edits', () => {
  it('links a restart to the run it continues', async () => {
    const first = await newRun('restart-1');
    const second = await newRun('restart-2', { previousRunId: first.runId });
    const got = await alice.api.runs.get.query({ runId: second.runId });
    expect(got.run.previous).toMatchObject({ id: first.runId });
    expect((await alice.api.runs.get.query({ runId: first.runId })).run.next).toMatchObject({ id: second.runId });
    const bob = await userWithProject(server, 'bob');
    const foreign = await bob.ingest.ingest.startRun
      .mutate({ project: bob.projectPath, clientKey: 'restart-3', notebookPath: 'x.ipynb', startedAt: at(0), previousRunId: first.runId })
      .catch(errorOf);
    expect(foreign).toMatchObject({ status: 400 });
  });

  it('edits name, tags and notes from the kernel and from the web', async () => {
    const { runId } = await newRun('edit-run-1');
    await alice.ingest.ingest.updateRun.mutate({ runId, name: 'baseline', addTags: ['resnet', 'cifar'] });
    await alice.ingest.ingest.updateRun.mutate({ runId, removeTags: ['cifar'], addTags: ['resnet', 'sweep'] });
    expect(await alice.api.runs.update.mutate({ runId, notes: 'lr too high' })).toEqual({ name: 'baseline', tags: ['resnet', 'sweep'], notes: 'lr too high' });
    const viewer = await signUp(server, 'victor');
    await alice.api.teams.addMember.mutate({ teamId: alice.team.id, email: viewer.email, role: 'viewer' });
    expect(await viewer.api.runs.update.mutate({ runId, name: 'mine' }).catch(errorOf)).toMatchObject({ status: 403 });
  });

  it('keeps a run to 50 tags of 1-64 characters, from the kernel and from the web alike', async () => {
    const { runId } = await newRun('tag-limits-1');
    const fifty = Array.from({ length: 50 }, (_, i) => `t${i}`);
    expect((await alice.ingest.ingest.updateRun.mutate({ runId, tags: [' t0 ', ...fifty.slice(1)] })).tags).toEqual(fifty);
    for (const update of [
      () => alice.ingest.ingest.updateRun.mutate({ runId, tags: [...fifty, 'one-more'] }),
      () => alice.api.runs.update.mutate({ runId, tags: [...fifty, 'one-more'] }),
    ]) {
      const refused = await update().catch(errorOf);
      expect(refused).toMatchObject({ status: 400, message: expect.stringMatching(/^invalid input: tags: /) });
    }
    for (const tag of ['x'.repeat(65), '  ']) {
      expect(await alice.api.runs.update.mutate({ runId, tags: [tag] }).catch(errorOf)).toMatchObject({
        status: 400,
        message: expect.stringMatching(/tags\.0: /),
      });
    }
    // each list within the limit, the merged set over it: named, nothing written
    const merged = await alice.ingest.ingest.updateRun.mutate({ runId, addTags: ['one-more'] }).catch(errorOf);
    expect(merged).toMatchObject({ status: 400, message: 'tags: 51 tags, over the limit of 50' });
    expect((await alice.api.runs.get.query({ runId })).run.tags).toEqual(fifty);
  });

  it('records environment and kernel-side activation', async () => {
    const { runId } = await newRun('env-run-1');
    expect((await alice.api.runs.get.query({ runId })).capture.kernel).toBe(false);
    await alice.ingest.ingest.kernelHello.mutate({ runId, language: 'python', implementation: 'cpython 3.11.7', cellmarkVersion: '0.1.0' });
    await alice.ingest.ingest.environment.mutate({
      runId,
      environment: {
        python: { version: '3.11.7' },
        packages: ['numpy==2.1.0'],
        host: { hostname: 'gpu-box-7' },
        gpus: [],
        gpuError: 'no NVIDIA GPU found: nvidia-smi not on PATH',
      },
    });
    const got = await alice.api.runs.get.query({ runId });
    expect(got.capture.kernel).toBe(true);
    expect(got.run.environment).toMatchObject({ packages: ['numpy==2.1.0'] });
    expect(got.run.host).toBe('gpu-box-7');
  });

  it('finishes runs that went quiet, but not while heartbeats arrive', async () => {
    const quiet = await newRun('idle-run-1');
    const alive = await newRun('idle-run-2');
    const beat = setInterval(() => void alice.ingest.ingest.heartbeat.mutate({ runId: alive.runId }), 300);
    try {
      await eventually(async () => {
        expect((await alice.api.runs.get.query({ runId: quiet.runId })).run.status).toBe('finished');
      }, 10_000);
      expect((await alice.api.runs.get.query({ runId: alive.runId })).run.status).toBe('running');
    } finally {
      clearInterval(beat);
    }
  });
});

describe('runs.list filters', () => {
  it('filters by status, tag, notebook and config value', async () => {
    const carol = await userWithProject(server, 'carol');
    const mk = async (key: string, notebook: string, config: Record<string, unknown>, tags: string[]) => {
      const { runId } = await carol.ingest.ingest.startRun.mutate({ project: carol.projectPath, clientKey: key, notebookPath: notebook, startedAt: at(0) });
      await carol.ingest.ingest.cells.mutate({
        runId,
        origin: 'kernel',
        cells: [{ executionKey: 'a', source: '', status: 'ok', startedAt: at(1), endedAt: at(2), config }],
      });
      await carol.ingest.ingest.updateRun.mutate({ runId, tags });
      return runId;
    };
    const a = await mk('filter-a', 'exp/resnet.ipynb', { lr: 0.001, opt: 'adam' }, ['baseline']);
    const b = await mk('filter-b', 'exp/vit.ipynb', { lr: 0.01, opt: 'adam' }, []);
    await carol.ingest.ingest.endRun.mutate({ runId: b, status: 'crashed', endedAt: at(5) });
    const ids = async (filter: Record<string, unknown>) =>
      (await carol.api.runs.list.query({ projectId: carol.project.id, filter })).runs.map((r) => r.id).sort();
    expect(await ids({})).toEqual([a, b].sort());
    expect(await ids({ status: ['crashed'] })).toEqual([b]);
    expect(await ids({ tag: 'baseline' })).toEqual([a]);
    expect(await ids({ notebook: 'vit' })).toEqual([b]);
    expect(await ids({ config: [{ key: 'lr', value: 0.001 }] })).toEqual([a]);
    expect(
      await ids({
        config: [
          { key: 'opt', value: 'adam' },
          { key: 'lr', value: 0.01 },
        ],
      }),
    ).toEqual([b]);
    expect(await ids({ notebook: '%' })).toEqual([]);
    // by id (compare and charts look their chosen runs up wherever they sort), with other filters
    expect(await ids({ runIds: [b] })).toEqual([b]);
    expect(await ids({ runIds: [a, b], status: ['crashed'] })).toEqual([b]);
    expect(await ids({ runIds: [] })).toEqual([]);
    await expect(ids({ runIds: ['not-a-uuid'] })).rejects.toThrow(/runIds/);
    expect((await carol.api.runs.list.query({ projectId: carol.project.id })).configKeys).toEqual(['lr', 'opt']);
    // the keys of the whole project, also when a filter hides the runs that have them
    expect((await carol.api.runs.list.query({ projectId: carol.project.id, filter: { tag: 'nothing-has-this' } })).configKeys).toEqual(['lr', 'opt']);
  });
});

describe('runs.list sort and pagination', () => {
  it('sorts by a config key or a column, pages, and counts the filtered total', async () => {
    const erin = await userWithProject(server, 'erin');
    const ids: string[] = [];
    for (const [i, lr] of [0.3, 0.001, 0.02, 0.1, 0.005].entries()) {
      const { runId } = await erin.ingest.ingest.startRun.mutate({
        project: erin.projectPath,
        clientKey: `sort-run-${i}`,
        notebookPath: `n${i}.ipynb`,
        startedAt: at(i * 1000),
      });
      await erin.ingest.ingest.cells.mutate({
        runId,
        origin: 'kernel',
        cells: [{ executionKey: 'a', source: '', status: 'ok', startedAt: at(i * 1000 + 1), endedAt: at(i * 1000 + 2), config: { lr } }],
      });
      ids.push(runId);
    }
    const list = (input: Record<string, unknown>) => erin.api.runs.list.query({ projectId: erin.project.id, ...input });
    const byLr = await list({ sort: { by: 'config.lr', dir: 'asc' } });
    expect(byLr.runs.map((r) => r.config.lr)).toEqual([0.001, 0.005, 0.02, 0.1, 0.3]);
    expect(byLr.total).toBe(5);
    const page2 = await list({ sort: { by: 'config.lr', dir: 'desc' }, limit: 2, offset: 2 });
    expect(page2.runs.map((r) => r.config.lr)).toEqual([0.02, 0.005]);
    expect(page2.total).toBe(5);
    expect((await list({ sort: { by: 'notebook', dir: 'asc' }, limit: 1 })).runs[0]!.notebookPath).toBe('n0.ipynb');
    expect((await list({ sort: { by: 'startedAt', dir: 'desc' }, limit: 1 })).runs[0]!.id).toBe(ids[4]);
    const beyond = await list({ limit: 2, offset: 10 });
    expect(beyond).toMatchObject({ runs: [], total: 5 });
    expect(await list({ sort: { by: 'bogus', dir: 'asc' } }).catch(errorOf)).toMatchObject({ status: 400 });
  });
});
