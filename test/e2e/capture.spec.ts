// JupyterLab → server → browser: a real kernel runs cells in a real JupyterLab with the
// extension; the run and its executions must arrive whole and in the order they ran.
import { expect, test } from '@playwright/test';
import { CellmarkProcess, freePort, signInBrowser, waitFor } from './support/cellmark.ts';
import { LabProcess, notebook, runCell } from './support/lab.ts';

let cellmark: CellmarkProcess;
let lab: LabProcess;

test.afterAll(async () => {
  await lab?.stop();
  await cellmark?.stop();
});

interface RunCell {
  executionCount: number | null;
  cellId: string | null;
  source: string;
  status: string;
  outputs: { output_type: string; text?: string; data?: Record<string, string>; ename?: string }[];
  error: { ename: string; evalue: string; traceback: string[] } | null;
  startedAt: string;
  endedAt: string;
}

test('captures executions, errors and re-runs from a real kernel', async ({ page, context }) => {
  cellmark = new CellmarkProcess(await freePort());
  const serverMs = await cellmark.start();
  const { headers, cookie } = await cellmark.signUp('Ada', 'ada@example.test', 'correct horse battery');
  const { team, project } = await cellmark.call<{ team: { slug: string }; project: { id: string; slug: string } }>(
    'setup.createWorkspace',
    { teamName: 'Lovelace Lab', projectName: 'Engines' },
    headers,
  );
  const { token } = await cellmark.call<{ token: string }>('tokens.create', { name: 'e2e lab' }, headers);

  lab = new LabProcess();
  const labMs = await lab.start(
    { serverUrl: cellmark.url, apiToken: token, project: `${team.slug}/${project.slug}` },
    {
      'engine.ipynb': notebook(['import time\ntime.sleep(0.3)\nx = 21\nprint("x is", x)', 'raise ValueError("bad value " + str(x))', 'x * 2']),
    },
  );
  test.info().annotations.push({ type: 'timing', description: `server healthy ${serverMs} ms, JupyterLab up ${labMs} ms` });

  await page.goto(`${lab.url}/lab/tree/engine.ipynb`);
  const cells = page.locator('.jp-NotebookPanel .jp-Cell');
  await expect(cells).toHaveCount(3, { timeout: 60_000 });
  // The status bar shows the run once the kernel is up and the server accepted it.
  await expect(page.locator('.jp-StatusBar-Widget', { hasText: 'Cellmark' })).not.toContainText(/not configured|⚠/);
  await page.waitForFunction(() => {
    const app = (window as unknown as { jupyterapp: { shell: { currentWidget: { sessionContext?: { session?: { kernel?: { status: string } } } } } } })
      .jupyterapp;
    return app.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle';
  });

  const run = (i: number, count: number) => runCell(cells.nth(i), count);
  await run(0, 1);
  await run(1, 2);
  await expect(cells.nth(1).locator('.jp-OutputArea-output')).toContainText('ValueError');
  await run(2, 3);
  await run(0, 4); // re-executed

  const auth = { cookie, origin: cellmark.url };
  let runId = '';
  await waitFor(
    async () => {
      const { runs } = await cellmark.call<{ runs: { id: string; cellCount: number }[] }>('runs.list', { projectId: project.id }, auth, 'query');
      runId = runs[0]?.id ?? '';
      return runs.length === 1 && runs[0]!.cellCount === 4;
    },
    'four executions on the server',
    30_000,
  );
  // The kernel says "running" when a cell starts and the result follows: an execution can be
  // on the server before it has finished there, so wait for the last one's end.
  type Detail = { cells: RunCell[]; run: { notebookPath: string; status: string } };
  let detail!: Detail;
  await waitFor(
    async () => {
      detail = await cellmark.call<Detail>('runs.get', { runId }, auth, 'query');
      return detail.cells.length === 4 && detail.cells.every((c) => c.status !== 'running');
    },
    'the four executions finished on the server',
    30_000,
  );
  const { cells: recorded, run: recordedRun } = detail;
  expect(recordedRun.notebookPath).toBe('engine.ipynb');
  expect(recorded.map((c) => [c.executionCount, c.cellId, c.status])).toEqual([
    [1, 'cell-1', 'ok'],
    [2, 'cell-2', 'error'],
    [3, 'cell-3', 'ok'],
    [4, 'cell-1', 'ok'],
  ]);
  expect(recorded[0]!.source).toContain('time.sleep(0.3)');
  expect(recorded[2]!.source).toBe('x * 2');
  expect(recorded[0]!.outputs).toEqual([{ output_type: 'stream', name: 'stdout', text: 'x is 21\n' }]);
  expect(recorded[1]!.error).toMatchObject({ ename: 'ValueError', evalue: 'bad value 21' });
  expect(recorded[1]!.outputs[0]).toMatchObject({ output_type: 'error', ename: 'ValueError' });
  expect(recorded[2]!.outputs[0]).toMatchObject({ output_type: 'execute_result', data: { 'text/plain': '42' } });
  for (const [i, c] of recorded.entries()) {
    const started = Date.parse(c.startedAt);
    const ended = Date.parse(c.endedAt);
    expect(ended).toBeGreaterThanOrEqual(started);
    if (i > 0) expect(started).toBeGreaterThanOrEqual(Date.parse(recorded[i - 1]!.endedAt));
  }
  // the first cell sleeps 0.3 s: the recorded timing is the kernel's, not the network's
  expect(Date.parse(recorded[0]!.endedAt) - Date.parse(recorded[0]!.startedAt)).toBeGreaterThanOrEqual(300);

  // The same run through the web UI, signed in as Ada.
  await signInBrowser(context, cellmark.url, cookie);
  const runPage = await context.newPage();
  await runPage.goto(`${cellmark.url}/t/${team.slug}/${project.slug}/runs/${runId}`);
  const shown = runPage.getByTestId('cell');
  await expect(shown).toHaveCount(4);
  expect(await shown.evaluateAll((els) => els.map((e) => [e.getAttribute('data-execution-count'), e.getAttribute('data-status')]))).toEqual([
    ['1', 'ok'],
    ['2', 'error'],
    ['3', 'ok'],
    ['4', 'ok'],
  ]);
  await expect(shown.nth(0).getByTestId('cell-source')).toContainText('time.sleep(0.3)');
  await expect(shown.nth(0).getByTestId('cell-output')).toContainText('x is 21');
  await expect(shown.nth(1).getByTestId('cell-output')).toContainText('ValueError: bad value 21');
  await expect(shown.nth(2).getByTestId('cell-output')).toContainText('42');
});
