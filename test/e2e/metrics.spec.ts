// Issue 4 end to end: a real kernel logs metrics with cellmark.log; they reach the server
// through the kernel side's spool and show up as a chart on the run page.
import { expect, test } from '@playwright/test';
import { CellmarkProcess, freePort, signInBrowser, waitFor } from './support/cellmark.ts';
import { LabProcess, notebook, openNotebookReady, runCell } from './support/lab.ts';

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
  const cells = await openNotebookReady(page, lab.url, 'train.ipynb', 2);
  await runCell(cells.nth(0), 1);

  const series = async (runId: string, key: string) =>
    (
      await cellmark.call<{ series: { count: number[]; nonFinite: number[] }[] }>(
        'metrics.series',
        { projectId: project.id, runIds: [runId], key, width: 1000 },
        auth,
        'query',
      )
    ).series[0]!;
  let runId = '';
  await waitFor(
    async () => {
      runId = (await cellmark.call<{ runs: { id: string }[] }>('runs.list', { projectId: project.id }, auth, 'query')).runs[0]?.id ?? '';
      return Boolean(runId) && (await series(runId, 'train/loss')).count.reduce((a, b) => a + b, 0) === 200;
    },
    '200 logged points on the server',
    60_000,
  );
  const acc = await series(runId, 'val/acc');
  expect(acc.nonFinite.reduce((a, b) => a + b, 0)).toBe(1); // the NaN is kept as such

  await signInBrowser(context, cellmark.url, cookie);
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

test('the runs table pages, sorts and counts on the server; charts switch to wall and relative time', async ({ page, context }) => {
  const server = new CellmarkProcess(await freePort());
  await server.start();
  try {
    const { headers, cookie } = await server.signUp('Ada', 'ada@example.test', 'correct horse battery');
    const { team, project } = await server.call<{ team: { slug: string }; project: { id: string; slug: string } }>(
      'setup.createWorkspace',
      { teamName: 'Analytical', projectName: 'Engine' },
      headers,
    );
    const { token } = await server.call<{ token: string }>('tokens.create', { name: 'lab' }, headers);
    const auth = { authorization: `Bearer ${token}` };
    const t0 = Date.now() - 200 * 60_000;
    const ids: string[] = [];
    // 120 runs, one a minute; the last two log a metric a second apart from their own start
    for (let n = 0; n < 120; n++) {
      const startedAt = new Date(t0 + n * 60_000).toISOString();
      const { runId } = await server.call<{ runId: string }>(
        'ingest.startRun',
        {
          project: `${team.slug}/${project.slug}`,
          clientKey: `paging-${n}`,
          notebookPath: 'sweep.ipynb',
          name: `run-${String(n).padStart(3, '0')}`,
          startedAt,
        },
        auth,
      );
      ids.push(runId);
    }
    for (const runId of ids.slice(-2)) {
      const start = t0 + ids.indexOf(runId) * 60_000;
      await server.call(
        'ingest.metrics',
        {
          runId,
          points: Array.from({ length: 30 }, (_, step) => ({
            key: 'train/loss',
            step,
            value: 1 / (step + 1),
            time: new Date(start + step * 1000).toISOString(),
          })),
        },
        auth,
      );
    }
    await signInBrowser(context, server.url, cookie);
    const base = `${server.url}/t/${team.slug}/${project.slug}`;
    await page.goto(base);
    const rows = page.getByTestId('run-row');
    const pager = page.getByTestId('runs-pagination');
    await expect(rows).toHaveCount(50);
    await expect(pager).toHaveAttribute('data-total', '120');
    await expect(pager).toHaveAttribute('data-pages', '3');
    await expect(page.getByTestId('tab-runs')).toContainText('120');
    await expect(rows.first()).toContainText('run-119'); // newest first
    await page.getByTestId('runs-page-next').click();
    await expect(page).toHaveURL(/page=2/);
    await expect(rows.first()).toContainText('run-069');
    await expect(page.getByTestId('runs-page-info')).toHaveText(/51–100 of 120/);
    // a tick on page 2 and one on page 1 both count for Compare
    await rows.first().getByTestId('run-select').check();
    await page.getByTestId('runs-page').and(page.locator('[data-page="1"]')).click();
    await expect(rows.first()).toContainText('run-119');
    await rows.first().getByTestId('run-select').check();
    await expect(page.getByTestId('compare-button')).toHaveText('Compare (2)');
    // sorting is the server's, over all 120, and goes back to page 1
    await page.locator('th[data-column="name"]').click();
    await expect(page).toHaveURL(/sort=name&dir=asc/);
    await expect(rows.first()).toContainText('run-000');
    await page.locator('th[data-column="name"]').click();
    await expect(rows.first()).toContainText('run-119');
    await page.getByTestId('runs-page-size').selectOption('100');
    await expect(rows).toHaveCount(100);
    await page.getByTestId('runs-page-next').click();
    await expect(rows).toHaveCount(20);
    await expect(rows.last()).toContainText('run-000');
    // the URL is the view: a reload shows the same page
    await page.reload();
    await expect(rows).toHaveCount(20);
    await expect(page.getByTestId('runs-pagination')).toHaveAttribute('data-page', '2');
    // a max column sorts on the server too: the two runs that logged come first (the others have none)
    await page.getByTestId('column-picker').locator('summary').click();
    await page.locator('[data-testid="summary-agg-option"][value="max:train/loss"]').check();
    await page.locator('h1').click(); // closes the menu, which covers the headers
    await page.locator('th[data-column="summary-max:train/loss"]').click();
    await expect(page).toHaveURL(/sort=summary-max.train%2Floss&dir=desc/);
    await expect(page.getByTestId('runs-pagination')).toHaveAttribute('data-page', '1');
    await expect(rows.nth(0).locator('td[data-column="summary-max:train/loss"]')).toHaveText('1');
    await expect(rows.nth(1).locator('td[data-column="summary-max:train/loss"]')).toHaveText('1');
    await expect(rows.nth(2).locator('td[data-column="summary-max:train/loss"]')).toHaveText('—');

    // the two runs that logged, on wall time (a minute apart) and relative time (overlaid)
    const chartUrl = (x: string) => `${base}?tab=charts&runs=${ids.slice(-2).join(',')}&key=train/loss${x}`;
    await page.goto(chartUrl('&x=time'));
    const chart = page.locator('[data-testid="chart"][data-key="train/loss"]');
    await expect(chart).toHaveAttribute('data-state', 'ready');
    await expect(chart).toHaveAttribute('data-x-axis', 'time');
    const [w0, w1] = (await chart.getAttribute('data-range'))!.split(',').map(Number);
    expect(w0).toBe(t0 + 118 * 60_000);
    expect(w1).toBe(t0 + 119 * 60_000 + 29_000);
    // a drag zooms in and re-queries the narrower wall-time window
    const box = (await chart.getByTestId('chart-canvas').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.9, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await expect(chart).toHaveAttribute('data-zoomed', 'true');
    await expect(chart).toHaveAttribute('data-state', 'ready');
    await expect
      .poll(async () => {
        const [z0, z1] = (await chart.getAttribute('data-range'))!.split(',').map(Number);
        return z0! > w0! && z1! <= w1! + 1000 && z1! - z0! < (w1! - w0!) / 2;
      })
      .toBe(true);
    await page.getByTestId('chart-reset-zoom').click();
    await expect(chart).toHaveAttribute('data-zoomed', 'false');
    await page.getByTestId('x-axis-option').and(page.locator('[data-value="relative"]')).click();
    await expect(page).toHaveURL(/x=relative/);
    await expect(chart).toHaveAttribute('data-x-axis', 'relative');
    await expect(chart).toHaveAttribute('data-state', 'ready');
    expect(await chart.getAttribute('data-range')).toBe('0,29000');
    await page.getByTestId('x-axis-option').and(page.locator('[data-value="step"]')).click();
    await expect(chart).toHaveAttribute('data-x-axis', 'step');
    await expect(chart).toHaveAttribute('data-state', 'ready');
    expect(await chart.getAttribute('data-range')).toBe('0,29');
  } finally {
    await server.stop();
  }
});
