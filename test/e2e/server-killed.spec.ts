// Issue 13, "capture you can trust", fast recovery: real JupyterLab, ipykernel, Chromium and
// server. The Cellmark server is SIGKILLed while a cell logs metrics and prints, cells go on
// running while it is gone (the status bar says it is unreachable), and it is restarted on the
// same port and database after the backoffs grew past 5 s. Then every execution and every
// metric point is on the server exactly once within 5 s of it being healthy, and the status
// bar says so within 2 s of that.
import { expect, test } from '@playwright/test';
import { CellmarkProcess, createWorkspace, freePort, waitFor } from './support/cellmark.ts';
import { LabProcess, notebook, openNotebookReady, runCell } from './support/lab.ts';

/** Long enough that both backoffs wait well past 5 s (1, 2, 4, 8, then 16 s or so). */
const OUTAGE_MS = 25_000;
const RECOVERY_MS = 5_000;
const STATUS_MS = 2_000;
/** start() asks /healthz every 200 ms: the server was healthy at most this long before it returned. */
const HEALTH_POLL_MS = 250;
const KEY = 'e2e/loss';
const STEPS = 60;

interface Cell {
  executionKey: string;
  executionCount: number | null;
  status: string;
  capturedBy: string[];
  outputs: { output_type: string; name?: string; text?: string }[];
}

const log = (from: number, to: number, print: string, sleep = 0) =>
  `for i in range(${from}, ${to}):\n    cellmark.log({"${KEY}": 1 / (i + 1)})\n    print("${print}", i, flush=True)\n${sleep ? `    time.sleep(${sleep})\n` : ''}`;
const CELLS = [
  'import cellmark, time\nprint("ready")',
  log(0, 10, 'before'),
  log(10, 40, 'across', 0.2), // about 6 s; the server is killed 2 s into it
  log(40, 55, 'down'),
  log(55, STEPS, 'still down'),
];
const PRINTED = [
  ['ready'],
  ...[
    [0, 10, 'before'],
    [10, 40, 'across'],
    [40, 55, 'down'],
    [55, STEPS, 'still down'],
  ].map(([from, to, word]) => Array.from({ length: (to as number) - (from as number) }, (_, i) => `${word} ${(from as number) + i}`)),
];

let cellmark: CellmarkProcess;
let lab: LabProcess;
let auth: { cookie: string; origin: string };
let projectId: string;

test.beforeAll(async () => {
  cellmark = new CellmarkProcess(await freePort());
  await cellmark.start();
  const workspace = await createWorkspace(cellmark, { name: 'Ada', email: 'ada@example.test' }, 'Lovelace', 'Engines');
  const { project, token, labProject } = workspace;
  projectId = project.id;
  auth = workspace.auth;
  lab = new LabProcess();
  // system samples would add points of their own to every batch; this test counts cellmark.log's
  await lab.start(
    { serverUrl: cellmark.url, apiToken: token, project: labProject },
    { 'train.ipynb': notebook(CELLS) },
    {
      CELLMARK_SYSTEM_INTERVAL: 'off',
    },
  );
});

test.afterAll(async () => {
  await lab?.stop();
  await cellmark?.stop();
});

async function runId(): Promise<string> {
  let id = '';
  await waitFor(async () => {
    const { runs } = await cellmark.call<{ runs: { id: string }[] }>('runs.list', { projectId }, auth, 'query');
    id = runs[0]?.id ?? '';
    return Boolean(id);
  }, 'the run');
  return id;
}

const cellsOf = async (id: string) => (await cellmark.call<{ cells: Cell[] }>('runs.get', { runId: id }, auth, 'query')).cells;
const pointsOf = async (id: string) =>
  (
    await cellmark.call<{ series: { x: number[]; count: number[]; last: number[] }[] }>(
      'metrics.series',
      { projectId, runIds: [id], key: KEY, width: 1000 },
      auth,
      'query',
    )
  ).series[0]!;

const stdout = (cell: Cell) =>
  cell.outputs
    .filter((o) => o.name === 'stdout')
    .map((o) => o.text)
    .join('');

/** Every execution once, finished, with its output once; every point once, with its value. */
async function complete(id: string): Promise<boolean> {
  const [cells, points] = await Promise.all([cellsOf(id), pointsOf(id)]);
  return (
    cells.length === CELLS.length &&
    cells.every((c, i) => c.status === 'ok' && c.executionCount === i + 1 && stdout(c) === PRINTED[i]!.map((l) => `${l}\n`).join('')) &&
    points.x.length === STEPS &&
    points.x.every((x, i) => x === i && points.count[i] === 1)
  );
}

test('the server SIGKILLed mid-notebook and restarted: every record once, within 5 s of it being healthy', async ({ page }) => {
  const cells = await openNotebookReady(page, lab.url, 'train.ipynb', CELLS.length);
  const status = page.locator('.cm-CellmarkStatus');
  await runCell(cells.nth(0), 1);
  await runCell(cells.nth(1), 2);
  const id = await runId();
  await waitFor(async () => (await pointsOf(id)).x.length === 10, 'the first points');

  // killed while a cell logs and prints
  await cells.nth(2).locator('.jp-InputArea-editor').click();
  await page.keyboard.press('Control+Enter');
  await expect(cells.nth(2).locator('.jp-OutputArea-output')).toContainText('across 19', { timeout: 20_000 });
  await cellmark.kill();
  const killedAt = Date.now();
  await expect(cells.nth(2).locator('.jp-InputArea-prompt')).toHaveText('[3]:', { timeout: 30_000 });
  await expect(status).toContainText('server unreachable', { timeout: 15_000 });
  await runCell(cells.nth(3), 4);
  await runCell(cells.nth(4), 5);
  await expect(status).toContainText('server unreachable');
  await expect(status).toHaveAttribute('data-cellmark-mode', 'error');
  await page.waitForTimeout(Math.max(0, OUTAGE_MS - (Date.now() - killedAt)));
  expect(await complete(id).catch(() => false)).toBe(false);

  await cellmark.start();
  const healthyBy = Date.now() - HEALTH_POLL_MS;
  let recordsAt = 0;
  let statusAt = 0;
  const healthy = async () => (await status.getAttribute('data-cellmark-mode')) === 'recording' && !/pending|⚠/.test((await status.textContent()) ?? '');
  await waitFor(
    async () => {
      if (!statusAt && (await healthy())) statusAt = Date.now();
      if (!recordsAt && (await complete(id))) recordsAt = Date.now();
      return Boolean(recordsAt && statusAt);
    },
    'every record on the server and the status bar healthy',
    30_000,
  );
  console.log(`records complete ${recordsAt - healthyBy} ms after the restarted server was healthy; status bar healthy ${statusAt - recordsAt} ms after that`);
  expect(recordsAt - healthyBy).toBeLessThanOrEqual(RECOVERY_MS);
  expect(statusAt - recordsAt).toBeLessThanOrEqual(STATUS_MS);

  // both capture paths recorded every execution, merged into one row each (exactly once)
  const stored = await cellsOf(id);
  expect(new Set(stored.map((c) => c.executionKey)).size).toBe(CELLS.length);
  for (const c of stored) expect([...c.capturedBy].sort()).toEqual(['frontend', 'kernel']);
  const points = await pointsOf(id);
  expect(points.last).toEqual(Array.from({ length: STEPS }, (_, i) => 1 / (i + 1)));
});
