// One run per kernel, and runs that end (issue 13): the real server, a real JupyterLab with
// the extension and the kernel side, real kernels and Chromium. The same kernel opened from
// two browsers is one run; a kernel shut down with no page open ends its run `finished`, a
// killed one is `crashed` once its heartbeat stops (short limits set here); a kernel
// restarted through the Jupyter REST API with no page open continues in a linked run that
// records what another client executes.
import { expect, type Page, test } from '@playwright/test';
import { CellmarkProcess, freePort, signInBrowser, waitFor } from './support/cellmark.ts';
import { JupyterApi, KernelClient } from './support/kernel-client.ts';
import { LabProcess, notebook, openNotebookReady, runCell } from './support/lab.ts';

const HEARTBEAT_TIMEOUT_MS = 6000;
const HEARTBEAT_INTERVAL_S = 1;

let cellmark: CellmarkProcess;
let lab: LabProcess;
let jupyter: JupyterApi;
let auth: Record<string, string>;
let projectId: string;
let projectUrl: string;

interface RunRow {
  id: string;
  notebookPath: string;
  status: string;
  cellCount: number;
}
interface RunDetail {
  run: { id: string; status: string; endedAt: string | null; kernelSeenAt: string | null; previous: { id: string } | null };
  cells: { executionKey: string; executionCount: number | null; source: string; status: string; capturedBy: string[] }[];
}

const listRuns = async (path: string) =>
  (await cellmark.call<{ runs: RunRow[] }>('runs.list', { projectId, filter: { notebook: path } }, auth, 'query')).runs.filter((r) => r.notebookPath === path);
const getRun = (runId: string) => cellmark.call<RunDetail>('runs.get', { runId }, auth, 'query');

test.beforeAll(async () => {
  cellmark = new CellmarkProcess(await freePort(), undefined, { CELLMARK_RUN_HEARTBEAT_TIMEOUT_MS: String(HEARTBEAT_TIMEOUT_MS) });
  await cellmark.start();
  const { headers, cookie } = await cellmark.signUp('Barbara', 'barbara@example.test', 'correct horse battery');
  const { team, project } = await cellmark.call<{ team: { slug: string }; project: { id: string; slug: string } }>(
    'setup.createWorkspace',
    { teamName: 'Liskov', projectName: 'Substitution' },
    headers,
  );
  projectId = project.id;
  projectUrl = `${cellmark.url}/t/${team.slug}/${project.slug}`;
  auth = { cookie, origin: cellmark.url };
  const { token } = await cellmark.call<{ token: string }>('tokens.create', { name: 'lab' }, headers);
  lab = new LabProcess();
  const cells = ['a = 1', 'b = a + 1', 'c = b + 1'];
  await lab.start(
    { serverUrl: cellmark.url, apiToken: token, project: `${team.slug}/${project.slug}` },
    { 'shared.ipynb': notebook(cells), 'shutdown.ipynb': notebook(cells), 'killed.ipynb': notebook(cells), 'restarted.ipynb': notebook(cells) },
    // the kernel side's heartbeat well below the server's limit; its files in this test's own folder
    { CELLMARK_HEARTBEAT_INTERVAL_S: String(HEARTBEAT_INTERVAL_S), CELLMARK_SPOOL_DIR: `${lab.root}/spool` },
  );
  jupyter = new JupyterApi(lab.url);
});

test.afterAll(async () => {
  await lab?.stop();
  await cellmark?.stop();
});

/** Opens the notebook, runs its first cell, waits until the server has it, closes the page. */
async function oneCellThenClose(page: Page, file: string): Promise<string> {
  const cells = await openNotebookReady(page, lab.url, file, 3, file.replace('.ipynb', ''));
  await runCell(cells.nth(0), 1);
  let runId = '';
  await waitFor(async () => {
    const runs = await listRuns(file);
    runId = runs[0]?.id ?? '';
    if (runs.length !== 1) return false;
    const detail = await getRun(runId);
    return detail.cells.length === 1 && detail.cells[0]!.status === 'ok' && detail.run.kernelSeenAt !== null;
  }, `${file}: the first execution on the server`);
  await page.close();
  return runId;
}

test('the same kernel opened from two browsers is one run, each execution once from both paths', async ({ page, browser }) => {
  const cellsA = await openNotebookReady(page, lab.url, 'shared.ipynb', 3, 'browser-a');
  await runCell(cellsA.nth(0), 1);
  // another browser (its own storage, as after clearing site data) opens the notebook: the
  // same Jupyter session, the same kernel
  const other = await browser.newContext();
  try {
    const pageB = await other.newPage();
    const cellsB = await openNotebookReady(pageB, lab.url, 'shared.ipynb', 3, 'browser-b');
    await runCell(cellsB.nth(1), 2); // its first execution
    await runCell(cellsA.nth(2), 3);

    let detail!: RunDetail;
    await waitFor(
      async () => {
        const runs = await listRuns('shared.ipynb');
        if (runs.length !== 1) return false;
        detail = await getRun(runs[0]!.id);
        return detail.cells.length === 3 && detail.cells.every((c) => c.status === 'ok' && c.capturedBy.length === 2);
      },
      'one run with three executions, each from the kernel and a frontend',
      30_000,
    );
    expect(await listRuns('shared.ipynb')).toHaveLength(1);
    expect(detail.cells.map((c) => [c.executionCount, c.source, [...c.capturedBy].sort()])).toEqual([
      [1, 'a = 1', ['frontend', 'kernel']],
      [2, 'b = a + 1', ['frontend', 'kernel']],
      [3, 'c = b + 1', ['frontend', 'kernel']],
    ]);
    expect(detail.run.status).toBe('running');
  } finally {
    await other.close();
  }
});

test('a kernel shut down with no page open ends its run finished; a killed one is crashed when its heartbeat stops', async ({ context }) => {
  // shut down through the Jupyter server, as JupyterLab's "Shut Down Kernel" does
  const finishedRun = await oneCellThenClose(await context.newPage(), 'shutdown.ipynb');
  const kernel = await jupyter.kernelOf('shutdown.ipynb');
  const shutdownAt = Date.now();
  await jupyter.shutdown(kernel.id);
  await waitFor(async () => (await getRun(finishedRun)).run.status === 'finished', 'the run finished', 5000);
  expect(Date.now() - shutdownAt).toBeLessThan(5000);
  const ended = Date.parse((await getRun(finishedRun)).run.endedAt!);
  expect(Math.abs(ended - shutdownAt)).toBeLessThan(5000);

  // SIGKILL: nothing in the kernel runs any more; the server notices the heartbeat stopped
  const crashedRun = await oneCellThenClose(await context.newPage(), 'killed.ipynb');
  const victim = await jupyter.kernelOf('killed.ipynb');
  const client = await KernelClient.connect(lab.url, victim.id);
  const { content } = await client.execute('', { silent: true, userExpressions: { pid: '__import__("os").getpid()' } });
  client.close();
  const pid = Number((content.user_expressions as Record<string, { data: Record<string, string> }>).pid!.data['text/plain']);
  expect(pid).toBeGreaterThan(1);
  const killedAt = Date.now();
  process.kill(pid, 'SIGKILL');
  // the limit, plus the sweep's quarter of it, plus one heartbeat interval of slack
  const limit = HEARTBEAT_TIMEOUT_MS * 1.25 + HEARTBEAT_INTERVAL_S * 1000 + 2000;
  await waitFor(async () => (await getRun(crashedRun)).run.status === 'crashed', 'the killed kernel’s run crashed', limit + 5000);
  expect(Date.now() - killedAt).toBeLessThan(limit);
  // ended at the last sign of life: the last heartbeat before the kill
  const crashedAt = Date.parse((await getRun(crashedRun)).run.endedAt!);
  expect(crashedAt).toBeLessThanOrEqual(killedAt + 500);
  expect(crashedAt).toBeGreaterThan(killedAt - HEARTBEAT_INTERVAL_S * 1000 - 2000);

  // the web shows both ends and filters by them
  await signInBrowser(context, cellmark.url, auth.cookie!);
  const web = await context.newPage();
  await web.goto(`${projectUrl}?status=crashed`);
  await expect(web.getByTestId('run-row')).toHaveCount(1);
  await expect(web.getByTestId('run-row').first()).toHaveAttribute('data-run-id', crashedRun);
  await web.goto(`${projectUrl}?status=finished`);
  await expect(web.locator(`[data-testid="run-row"][data-run-id="${finishedRun}"]`)).toHaveAttribute('data-status', 'finished');
  await web.goto(`${projectUrl}/runs/${crashedRun}`);
  const header = web.getByTestId('run-header');
  await expect(header.locator('.badge[data-status="crashed"]')).toHaveAttribute('title', /stopped answering/);
  await expect(header).toContainText('Last heard from');
});

test('a kernel restarted through the REST API with no page open opens a linked run that records another client', async ({ context }) => {
  const before = await oneCellThenClose(await context.newPage(), 'restarted.ipynb');
  const kernel = await jupyter.kernelOf('restarted.ipynb');
  await jupyter.restart(kernel.id);
  let after = '';
  await waitFor(
    async () => {
      const runs = await listRuns('restarted.ipynb');
      after = runs.find((r) => r.id !== before)?.id ?? '';
      return after !== '' && (await getRun(after)).run.previous?.id === before;
    },
    'the next run, linked to the one before',
    30_000,
  );
  expect((await getRun(before)).run.status).toBe('finished');
  expect(await listRuns('restarted.ipynb')).toHaveLength(2);

  const client = await KernelClient.connect(lab.url, kernel.id);
  try {
    const { msgId, content } = await client.execute('after_restart = 40 + 2');
    expect(content.status).toBe('ok');
    await waitFor(
      async () => {
        const cells = (await getRun(after)).cells;
        return cells.length === 1 && cells[0]!.status === 'ok';
      },
      'the execution in the new run',
      30_000,
    );
    const detail = await getRun(after);
    expect(detail.cells.map((c) => [c.executionKey, c.source, c.capturedBy])).toEqual([[msgId, 'after_restart = 40 + 2', ['kernel']]]);
    expect(detail.run.status).toBe('running');
  } finally {
    client.close();
  }
});
