// Issue 13, "nothing is lost when the browser tab closes": real JupyterLab, ipykernel,
// Chromium and server. The tab is closed right after the cells were started and no browser
// ever opens this Lab again, so the browser's outbox never gets a second chance: what is on
// the server came from the kernel side (outputs, timing) and from the closing page's
// keepalive requests (positions, what had finished).
import { expect, type Page, test } from '@playwright/test';
import { CellmarkProcess, createWorkspace, freePort, waitFor } from './support/cellmark.ts';
import { LabProcess, notebook, openNotebookReady, runCell } from './support/lab.ts';

const PNG_B64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC';

interface Output {
  output_type: string;
  name?: string;
  text?: string | { $blob: string };
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
}
interface Cell {
  cellId: string | null;
  position: number | null;
  status: string;
  capturedBy: string[];
  outputs: Output[];
  error: { ename: string } | null;
  startedAt: string;
  endedAt: string | null;
}
interface RunDetail {
  run: { id: string };
  capture: { kernel: boolean };
  cells: Cell[];
}
type App = { commands: { execute(id: string): Promise<unknown> } };

let cellmark: CellmarkProcess;
let lab: LabProcess;
let auth: { cookie: string; origin: string };
let projectId: string;
test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  cellmark = new CellmarkProcess(await freePort());
  await cellmark.start();
  const workspace = await createWorkspace(cellmark, { name: 'Ada', email: 'ada@example.test' }, 'Lovelace', 'Engines');
  const { project, token, labProject } = workspace;
  projectId = project.id;
  auth = workspace.auth;
  lab = new LabProcess();
  await lab.start(
    { serverUrl: cellmark.url, apiToken: token, project: labProject },
    {
      'run-all.ipynb': notebook([
        'import sys\nprint("hello")\nprint("careful", file=sys.stderr)',
        '6 * 7',
        `from IPython.display import Image, display\nimport base64\ndisplay(Image(data=base64.b64decode("${PNG_B64}")))`,
        'import time\ntime.sleep(2)\nprint("finished after the tab closed")',
        'raise ValueError("boom")',
      ]),
      'long.ipynb': notebook(['import time\nfor i in range(200):\n    print(f"line {i}", flush=True)\n    time.sleep(0.1)', 'ready = True']),
    },
  );
});

test.afterAll(async () => {
  await lab?.stop();
  await cellmark?.stop();
});

const getRun = (runId: string) => cellmark.call<RunDetail>('runs.get', { runId }, auth, 'query');

/**
 * The notebook's run, once the kernel side records into it (its hello reached the server).
 * A run opens at the notebook's first execution, so the tests run one cell first: a page
 * closed before its run exists on the server cannot name it to anyone.
 */
async function runOf(notebookPath: string): Promise<string> {
  let runId = '';
  await waitFor(
    async () => {
      const { runs } = await cellmark.call<{ runs: { id: string }[] }>('runs.list', { projectId, filter: { notebook: notebookPath } }, auth, 'query');
      runId = runs[0]?.id ?? '';
      return Boolean(runId) && (await getRun(runId)).capture.kernel;
    },
    `the run of ${notebookPath} with its kernel side`,
    60_000,
  );
  return runId;
}

async function finished(runId: string, count: number, timeoutMs: number): Promise<Cell[]> {
  let cells: Cell[] = [];
  await waitFor(
    async () => {
      cells = (await getRun(runId)).cells;
      return cells.length === count && cells.every((c) => c.status !== 'running');
    },
    `${count} finished executions`,
    timeoutMs,
  );
  return cells;
}

/** Run all has sent every execute_request: the last cell waits in the queue, `[*]:`. */
async function lastQueued(page: Page) {
  await expect(page.locator('.jp-NotebookPanel .jp-Cell .jp-InputArea-prompt').last()).toHaveText('[*]:', { timeout: 10_000 });
}

test('run all, then the tab closed at once: every execution complete on the server, outputs included', async ({ page }) => {
  const notebookCells = await openNotebookReady(page, lab.url, 'run-all.ipynb', 5);
  await runCell(notebookCells.nth(0), 1);
  const runId = await runOf('run-all.ipynb');
  await page.evaluate(() => void (window as unknown as { jupyterapp: App }).jupyterapp.commands.execute('notebook:run-all-cells'));
  await lastQueued(page);
  await page.close();

  const cells = (await finished(runId, 6, 60_000)).slice(1); // after the first run of cell 1
  expect(cells.map((c) => [c.cellId, c.position, c.status])).toEqual([
    ['cell-1', 0, 'ok'],
    ['cell-2', 1, 'ok'],
    ['cell-3', 2, 'ok'],
    ['cell-4', 3, 'ok'],
    ['cell-5', 4, 'error'],
  ]);
  for (const c of cells) expect(c.capturedBy).toContain('kernel');
  const [streams, result, image, late, error] = cells.map((c) => c.outputs);
  expect(streams).toEqual([
    { output_type: 'stream', name: 'stdout', text: 'hello\n' },
    { output_type: 'stream', name: 'stderr', text: 'careful\n' },
  ]);
  expect(result).toEqual([{ output_type: 'execute_result', data: { 'text/plain': '42' }, metadata: {}, execution_count: 3 }]);
  expect(late).toEqual([{ output_type: 'stream', name: 'stdout', text: 'finished after the tab closed\n' }]);
  expect(error).toHaveLength(1);
  expect(error![0]).toMatchObject({ output_type: 'error', ename: 'ValueError', evalue: 'boom' });
  expect(cells[4]!.error).toMatchObject({ ename: 'ValueError' });

  // the image went to the blob store and comes back as the same PNG
  expect(image).toHaveLength(1);
  const png = image![0]!.data!['image/png'] as { $blob: string };
  const res = await fetch(`${cellmark.url}/api/blobs/${png.$blob}?run=${runId}`, { headers: { cookie: auth.cookie } });
  expect(res.headers.get('content-type')).toBe('image/png');
  expect(Buffer.from(await res.arrayBuffer()).toString('base64')).toBe(PNG_B64);
});

test('a cell printing for 20 s, the tab closed after 2 s: every line captured, in order', async ({ page }) => {
  // a workspace of its own: the default one would restore the other notebook beside it
  const cells = await openNotebookReady(page, `${lab.url}/lab/workspaces/long`, 'long.ipynb', 2);
  await runCell(cells.nth(1), 1);
  const runId = await runOf('long.ipynb');
  await cells.nth(0).locator('.jp-InputArea-editor').click();
  await page.keyboard.press('Control+Enter');
  await expect(cells.nth(0).locator('.jp-OutputArea-output')).toContainText('line 1', { timeout: 10_000 });
  await page.waitForTimeout(2000);
  await page.close();

  const [, cell] = await finished(runId, 2, 60_000);
  expect(cell).toMatchObject({ cellId: 'cell-1', position: 0, status: 'ok' });
  expect(Date.parse(cell!.endedAt!) - Date.parse(cell!.startedAt)).toBeGreaterThanOrEqual(20_000);
  expect(cell!.outputs).toEqual([{ output_type: 'stream', name: 'stdout', text: Array.from({ length: 200 }, (_, i) => `line ${i}\n`).join('') }]);
});
