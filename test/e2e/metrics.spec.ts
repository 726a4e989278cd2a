// Issue 4 end to end: a real kernel logs metrics with cellmark.log; they reach the server
// through the kernel side's spool and show up as a chart on the run page.
import { expect, test } from '@playwright/test';
import { CellmarkProcess, freePort, waitFor } from './support/cellmark.ts';
import { LabProcess, notebook, runCell } from './support/lab.ts';

let cellmark: CellmarkProcess;
let lab: LabProcess;
test.afterAll(async () => {
  await lab?.stop();
  await cellmark?.stop();
});

test('metrics logged from a real kernel appear in the run page chart', async ({ page, context }) => {
  cellmark = new CellmarkProcess(await freePort());
  await cellmark.start();
  const { headers, cookie } = await cellmark.signUp('Marie', 'marie@example.test', 'correct horse battery');
  const { team, project } = await cellmark.call<{ team: { slug: string }; project: { id: string; slug: string } }>(
    'setup.createWorkspace',
    { teamName: 'Curie', projectName: 'Radium' },
    headers,
  );
  const { token } = await cellmark.call<{ token: string }>('tokens.create', { name: 'lab' }, headers);
  const auth = { cookie, origin: cellmark.url };
  lab = new LabProcess();
  await lab.start(
    { serverUrl: cellmark.url, apiToken: token, project: `${team.slug}/${project.slug}` },
    {
      'train.ipynb': notebook([
        'import cellmark, math\nfor i in range(200):\n    cellmark.log({"train": {"loss": 1 / (i + 1)}, "val/acc": float("nan") if i == 100 else i / 200})\ncellmark.flush()',
        'for i in range(200, 400):\n    cellmark.log({"train": {"loss": 1 / (i + 1)}, "val/acc": i / 400})\ncellmark.flush()',
      ]),
    },
  );
  await page.goto(`${lab.url}/lab/tree/train.ipynb`);
  const cells = page.locator('.jp-NotebookPanel .jp-Cell');
  await expect(cells).toHaveCount(2, { timeout: 60_000 });
  // the kernel side is switched on once the kernel is up (a cell run before that logs nothing: known limitation)
  await page.waitForFunction(
    () =>
      (window as unknown as { jupyterapp: { shell: { currentWidget: { sessionContext?: { session?: { kernel?: { status: string } } } } } } }).jupyterapp.shell
        .currentWidget?.sessionContext?.session?.kernel?.status === 'idle',
    undefined,
    { timeout: 60_000 },
  );
  await expect(page.locator('.jp-StatusBar-Widget', { hasText: 'Cellmark' })).not.toContainText(/not configured|⚠|starting/, { timeout: 60_000 });
  await runCell(cells.nth(0), 1);

  const series = async (runId: string, key: string) =>
    (await cellmark.call<{ series: { count: number[]; nonFinite: number[] }[] }>('metrics.series', { projectId: project.id, runIds: [runId], key, width: 1000 }, auth, 'query')).series[0]!;
  let runId = '';
  await waitFor(async () => {
    runId = (await cellmark.call<{ runs: { id: string }[] }>('runs.list', { projectId: project.id }, auth, 'query')).runs[0]?.id ?? '';
    return Boolean(runId) && (await series(runId, 'train/loss')).count.reduce((a, b) => a + b, 0) === 200;
  }, '200 logged points on the server', 60_000);
  const acc = await series(runId, 'val/acc');
  expect(acc.nonFinite.reduce((a, b) => a + b, 0)).toBe(1); // the NaN is kept as such

  await context.addCookies(cookie.split('; ').map((pair) => {
    const [name, ...value] = pair.split('=');
    return { name: name!, value: value.join('='), url: cellmark.url };
  }));
  const runPage = await context.newPage();
  await runPage.goto(`${cellmark.url}/t/${team.slug}/${project.slug}/runs/${runId}`);
  const section = runPage.getByTestId('metrics-section');
  await section.scrollIntoViewIfNeeded();
  const chart = section.locator('[data-testid="chart"][data-key="train/loss"]');
  await expect(chart).toBeVisible({ timeout: 30_000 });
  await expect(chart.locator('canvas').first()).toBeVisible();
  await expect(section.locator('[data-testid="chart"][data-key="val/acc"]')).toBeVisible();

  // more steps from the kernel: the server has them, and the chart shows the longer run
  await runCell(cells.nth(1), 2);
  await waitFor(async () => (await series(runId, 'train/loss')).count.reduce((a, b) => a + b, 0) === 400, '400 points', 60_000);
  const run = await cellmark.call<{ run: { summary: Record<string, { last: number; step: number }> } }>('runs.get', { runId }, auth, 'query');
  expect(run.run.summary['train/loss']).toMatchObject({ step: 399, last: 1 / 400 });
  await runPage.reload();
  await runPage.getByTestId('metrics-section').scrollIntoViewIfNeeded();
  await expect(runPage.locator('[data-testid="chart"][data-key="train/loss"] canvas').first()).toBeVisible({ timeout: 30_000 });
});
