// ingest.metrics and metrics.series over real HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, post, startTestServer, type TestServer, userWithProject } from './helpers.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ CELLMARK_MAX_METRIC_KEYS_PER_BATCH: '3' });
});
afterAll(() => server?.dispose());

describe('metrics over HTTP', () => {
  it('logs points (NaN and Infinity as strings), idempotently, and charts them', async () => {
    const ada = await userWithProject(server, 'ada');
    const { runId } = await ada.ingest.ingest.startRun.mutate({
      project: ada.projectPath,
      clientKey: 'metrics-http-1',
      notebookPath: 'm.ipynb',
      startedAt: new Date().toISOString(),
    });
    const time = new Date().toISOString();
    const points = [
      ...Array.from({ length: 100 }, (_, step) => ({ key: 'train/loss', step, value: 1 / (step + 1), time })),
      { key: 'train/loss', step: 100, value: 'NaN' as const, time },
    ];
    expect(await ada.ingest.ingest.metrics.mutate({ runId, points })).toEqual({ accepted: 101, inserted: 101 });
    expect(await ada.ingest.ingest.metrics.mutate({ runId, points })).toEqual({ accepted: 101, inserted: 0 });

    const chart = await ada.api.metrics.series.query({ projectId: ada.project.id, runIds: [runId], key: 'train/loss', width: 10 });
    expect(chart.range).toEqual([0, 100]);
    const [series] = chart.series;
    expect(series!.count.reduce((a, b) => a + b, 0)).toBe(101);
    expect(series!.max[0]).toBe(1);
    expect(series!.last.at(-1)).toBe('NaN');

    expect(await ada.api.metrics.keys.query({ projectId: ada.project.id })).toEqual(['train/loss']);
    expect(await ada.api.metrics.keys.query({ projectId: ada.project.id, runIds: [runId] })).toEqual(['train/loss']);
    // big responses travel gzipped to clients that accept it
    const url = `${server.url}/api/trpc/metrics.series?input=${encodeURIComponent(JSON.stringify({ projectId: ada.project.id, runIds: [runId], key: 'train/loss', width: 1000, range: [0, 100] }))}`;
    const raw = await fetch(url, { headers: { cookie: ada.cookie, 'accept-encoding': 'identity' } });
    const zipped = await fetch(url, { headers: { cookie: ada.cookie, 'accept-encoding': 'gzip' } });
    expect(raw.headers.get('content-encoding')).toBeNull();
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    expect(await zipped.json()).toEqual(await raw.json());
    const run = await ada.api.runs.get.query({ runId });
    expect(run.run.summary['train/loss']).toMatchObject({ last: 'NaN', step: 100, min: 1 / 100, max: 1 });
  });

  it('answers 400 naming the key limit and the bad field, writing nothing', async () => {
    const bob = await userWithProject(server, 'bob');
    const { runId } = await bob.ingest.ingest.startRun.mutate({
      project: bob.projectPath,
      clientKey: 'metrics-http-2',
      notebookPath: 'm.ipynb',
      startedAt: new Date().toISOString(),
    });
    const time = new Date().toISOString();
    const tooMany = await bob.ingest.ingest.metrics
      .mutate({ runId, points: ['a', 'b', 'c', 'd'].map((key) => ({ key, step: 0, value: 1, time })) })
      .catch(errorOf);
    expect(tooMany).toMatchObject({ status: 400 });
    expect((tooMany as { message: string }).message).toMatch(/4 distinct keys in one batch, over the limit of 3 \(CELLMARK_MAX_METRIC_KEYS_PER_BATCH\)/);
    const wrongType = await post(
      server.url,
      'ingest.metrics',
      JSON.stringify({
        runId,
        points: [
          { key: 'a', step: 0, value: 1, time },
          { key: 'a', step: 1, value: 'high', time },
        ],
      }),
      bob.token,
    );
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error!.message).toMatch(/points\.1\.value/);
    const chart = await bob.api.metrics.series.query({ projectId: bob.project.id, runIds: [runId], key: 'a', width: 10 });
    expect(chart.series[0]!.count).toEqual([]);
  });

  it("does not chart another team's runs", async () => {
    const carol = await userWithProject(server, 'carol');
    const dave = await userWithProject(server, 'dave');
    const { runId } = await dave.ingest.ingest.startRun.mutate({
      project: dave.projectPath,
      clientKey: 'metrics-http-3',
      notebookPath: 'm.ipynb',
      startedAt: new Date().toISOString(),
    });
    expect(await carol.api.metrics.series.query({ projectId: dave.project.id, runIds: [runId], key: 'a', width: 10 }).catch(errorOf)).toMatchObject({
      status: 403,
    });
    expect(await carol.api.metrics.series.query({ projectId: carol.project.id, runIds: [runId], key: 'a', width: 10 }).catch(errorOf)).toMatchObject({
      status: 404,
    });
  });
});
