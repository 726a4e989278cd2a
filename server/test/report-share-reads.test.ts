// A report's view-only share link reads the chart data its run-chart blocks show — the runs
// and keys named in the stored document, or selected now by a block's filter — and nothing
// else of the project; a revoked link, or a block taken out of the report, stops at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { provider } from './collab-clients.ts';
import { type Client, errorOf, eventually, startTestServer, type TestServer, trpcClient, userWithProject } from './helpers.ts';

let server: TestServer;
let ada: Awaited<ReturnType<typeof userWithProject>>;
let eve: Awaited<ReturnType<typeof userWithProject>>;
let anonymous: Client;
const providers: WebsocketProvider[] = [];

beforeAll(async () => {
  server = await startTestServer();
  ada = await userWithProject(server, 'ada');
  eve = await userWithProject(server, 'eve');
  anonymous = trpcClient(server.url);
});
afterAll(async () => {
  providers.forEach((p) => p.destroy());
  await server?.dispose();
});

let runCounter = 0;
async function runWith(who: typeof ada, metrics: Record<string, number>, tags: string[] = []) {
  const { runId } = await who.ingest.ingest.startRun.mutate({
    project: who.projectPath,
    clientKey: `share-reads-${++runCounter}`,
    notebookPath: 'train.ipynb',
    startedAt: new Date(Date.now() + runCounter).toISOString(),
  });
  const time = new Date().toISOString();
  const points = Object.entries(metrics).flatMap(([key, n]) => Array.from({ length: n }, (_, step) => ({ key, step, value: step / n, time })));
  await who.ingest.ingest.metrics.mutate({ runId, points });
  if (tags.length) await who.api.runs.update.mutate({ runId, tags });
  return runId;
}

/** A run chart block as the web editor stores it (y-prosemirror: attributes as values). */
function runChart(attrs: Record<string, unknown>) {
  const el = new Y.XmlElement('runChart');
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, value as string);
  return el;
}

const seriesOf = (client: Client, share: string | undefined, runIds: string[], key: string, projectId = ada.project.id) =>
  client.metrics.series.query({ ...(share ? { share } : {}), projectId, runIds, key, width: 50 });
const total = (chart: Awaited<ReturnType<typeof seriesOf>>) => chart.series.map((s) => s.count.reduce((a, b) => a + b, 0));

describe('share link reads', () => {
  it("reads the runs and keys the report's run charts show, nothing else; a removed block or a revoked link stops at once", async () => {
    const a = await runWith(ada, { loss: 20, acc: 10 });
    const b = await runWith(ada, { loss: 30 });
    const hidden = await runWith(ada, { loss: 40, secret: 5 });
    const baseline = await runWith(ada, { loss: 15 }, ['baseline']);
    const elsewhere = await runWith(eve, { loss: 10 });

    const { id: reportId } = await ada.api.reports.create.mutate({ projectId: ada.project.id, title: 'Findings' });
    const editor = provider(server, reportId, ada, providers);
    await eventually(() => expect(editor.provider.synced).toBe(true));
    const body = editor.doc.getXmlFragment('prosemirror');
    const quote = new Y.XmlElement('blockquote');
    editor.doc.transact(() => {
      const text = new Y.XmlElement('paragraph');
      text.insert(0, [new Y.XmlText('Loss went down.')]);
      body.insert(0, [text, runChart({ blockId: 'b1', source: 'runs', runIds: [a, b], keys: ['loss'], filter: '', limit: 10 }), quote]);
      // nested blocks count too
      quote.insert(0, [runChart({ blockId: 'b2', source: 'runs', runIds: [a], keys: ['acc'] })]);
      body.insert(3, [runChart({ blockId: 'b3', source: 'filter', filter: 'tag=baseline', limit: 5, keys: ['loss'] })]);
    });
    const { token, id: shareId } = await ada.api.reportShares.create.mutate({ reportId });

    // what the blocks chart: real data, without an account
    await eventually(async () => expect(total(await seriesOf(anonymous, token, [a, b], 'loss'))).toEqual([20, 30]));
    expect(total(await seriesOf(anonymous, token, [a], 'acc'))).toEqual([10]);
    expect(total(await seriesOf(anonymous, token, [baseline], 'loss'))).toEqual([15]);

    // not in the report: another run, a run with a key it is not charted with, another key,
    // another project — each refused, saying what is not shared
    const refused = async (p: Promise<unknown>) => (await p.then(() => ({ code: 'OK', status: 200, message: '' }), errorOf)) as ReturnType<typeof errorOf>;
    expect(await refused(seriesOf(anonymous, token, [a, hidden], 'loss'))).toMatchObject({
      status: 403,
      message: `runIds: ${hidden} is not charted with "loss" in the shared report`,
    });
    expect(await refused(seriesOf(anonymous, token, [b], 'acc'))).toMatchObject({ status: 403, message: expect.stringContaining(b) });
    expect(await refused(seriesOf(anonymous, token, [hidden], 'secret'))).toMatchObject({
      status: 403,
      message: 'metric "secret" is not charted in the shared report',
    });
    expect(await refused(seriesOf(anonymous, token, [elsewhere], 'loss', eve.project.id))).toMatchObject({
      status: 403,
      message: 'this share link is for a report in another project',
    });
    // a run of another project named under this one is not in the report either
    expect(await refused(seriesOf(anonymous, token, [elsewhere], 'loss'))).toMatchObject({ status: 403 });
    // no link, no account
    expect(await refused(seriesOf(anonymous, undefined, [a], 'loss'))).toMatchObject({ status: 401 });
    expect(await refused(seriesOf(anonymous, 'cms_not-a-link', [a], 'loss'))).toMatchObject({ status: 401 });

    // the runs the report charts, with only what a chart shows of them
    const listed = await anonymous.reportShares.runs.query({ token });
    expect(listed.runs.map((r) => r.id).sort()).toEqual([a, b, baseline].sort());
    expect(listed.runs.every((r) => Object.keys(r).sort().join() === 'id,name,startedAt,status')).toBe(true);
    // a filter block's runs, asked for by its own settings
    const matching = await anonymous.reportShares.runs.query({ token, filter: 'tag=baseline', limit: 5 });
    expect(matching.runs.map((r) => r.id)).toEqual([baseline]);
    expect(await refused(anonymous.reportShares.runs.query({ token, filter: 'tag=baseline', limit: 6 }))).toMatchObject({
      status: 403,
      message: 'filter: "tag=baseline" (most recent 6) is not a run chart of the shared report',
    });
    expect(await refused(anonymous.reportShares.runs.query({ token: 'cms_not-a-link' }))).toMatchObject({ status: 401 });
    // runs.list is for members: a link there reads nothing
    expect(await refused(anonymous.runs.list.query({ projectId: ada.project.id }))).toMatchObject({ status: 401 });

    // a filter block follows the filter: a new matching run is charted, so readable
    const later = await runWith(ada, { loss: 5 }, ['baseline']);
    expect(total(await seriesOf(anonymous, token, [later, baseline], 'loss'))).toEqual([5, 15]);

    // a block taken out of the report takes its runs' access with it, as soon as it is stored
    editor.doc.transact(() => body.delete(1, 1));
    await eventually(async () => expect(await refused(seriesOf(anonymous, token, [b], 'loss'))).toMatchObject({ status: 403 }));
    expect(total(await seriesOf(anonymous, token, [a], 'acc'))).toEqual([10]);

    // members read as before, with or without the report
    expect(total(await seriesOf(ada.api, undefined, [hidden], 'secret'))).toEqual([5]);

    // revoked: refused at once, with the reason
    await ada.api.reportShares.revoke.mutate({ reportId, shareId });
    expect(await refused(seriesOf(anonymous, token, [a], 'acc'))).toMatchObject({ status: 403, message: 'this share link has been revoked' });
    expect(await refused(anonymous.reportShares.runs.query({ token }))).toMatchObject({ status: 403, message: 'this share link has been revoked' });
  });
});

describe('share link guess-and-check', () => {
  /** One tRPC query over plain HTTP, as anyone holding the link may send it. */
  async function get(procedure: string, input: unknown) {
    const res = await fetch(`${server.url}/api/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`);
    return { status: res.status, body: await res.text() };
  }

  it('cannot tell a hidden config value by filtering or sorting on it', async () => {
    const cells = (lr: number) => [
      { executionKey: 'a', source: '', status: 'ok' as const, startedAt: new Date().toISOString(), endedAt: new Date().toISOString(), config: { lr } },
    ];
    const x = await runWith(ada, { loss: 3 });
    const y = await runWith(ada, { loss: 3 });
    await ada.ingest.ingest.cells.mutate({ runId: x, origin: 'kernel', cells: cells(0.003) });
    await ada.ingest.ingest.cells.mutate({ runId: y, origin: 'kernel', cells: cells(0.01) });
    const { id: reportId } = await ada.api.reports.create.mutate({ projectId: ada.project.id, title: 'Guess' });
    const editor = provider(server, reportId, ada, providers);
    await eventually(() => expect(editor.provider.synced).toBe(true));
    editor.doc.getXmlFragment('prosemirror').insert(0, [runChart({ blockId: 'g1', source: 'runs', runIds: [x, y], keys: ['loss'] })]);
    const { token } = await ada.api.reportShares.create.mutate({ reportId });
    await eventually(async () => expect(total(await seriesOf(anonymous, token, [x, y], 'loss'))).toEqual([3, 3]));
    const projectId = ada.project.id;

    // the right and a wrong guess get the same answer
    const sameAnswer = async (procedure: string, guess: (value: unknown) => unknown, right: unknown, wrong: unknown) => {
      const [a, b] = [await get(procedure, guess(right)), await get(procedure, guess(wrong))];
      expect({ status: a.status, body: a.body.replaceAll(String(right), 'GUESS') }).toEqual({
        status: b.status,
        body: b.body.replaceAll(String(wrong), 'GUESS'),
      });
      // refused, not answered the same empty way by chance
      expect(a.status).toBeGreaterThanOrEqual(400);
    };
    await sameAnswer('runs.list', (lr) => ({ share: token, projectId, filter: { config: [{ key: 'lr', value: lr }] } }), 0.003, 0.004);
    await sameAnswer('runs.list', (dir) => ({ share: token, projectId, sort: { by: 'config.lr', dir } }), 'asc', 'desc');
    await sameAnswer('reportShares.runs', (lr) => ({ token, filter: `cfg.lr=${lr}` }), 0.003, 0.004);
    await sameAnswer('reportShares.runs', (lr) => ({ token, filter: { config: [{ key: 'lr', value: lr }] } }), 0.003, 0.004);
    await sameAnswer('reportShares.runs', (dir) => ({ token, sort: { by: 'config.lr', dir } }), 'asc', 'desc');
    // and say why
    expect(await get('reportShares.runs', { token, filter: 'cfg.lr=0.003' })).toMatchObject({
      status: 403,
      body: expect.stringContaining('filter: \\"cfg.lr=0.003\\" is not a run chart of the shared report'),
    });
    expect(await get('reportShares.runs', { token, sort: { by: 'config.lr', dir: 'asc' } })).toMatchObject({
      status: 400,
      body: expect.stringContaining('sort'),
    });
    expect(await get('runs.list', { share: token, projectId })).toMatchObject({ status: 401 });
    // what the link does read carries nothing of the config
    const { body } = await get('reportShares.runs', { token });
    expect(body).not.toMatch(/lr|0\.003|config|notebook|train\.ipynb/);
  });
});
