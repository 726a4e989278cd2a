// Report list and blocks in the browser: create, rename, delete to the trash and restore from
// the Reports tab; a run chart block configured by one editor shows the same runs, metrics
// and charts to a co-editor (its settings live in the shared document); viewers read only;
// a view-only link shows the chart without an account.
import { expect, test } from '@playwright/test';
import { caretAtEnd, converged, live, openAs, signUpPatiently } from './report-helpers.ts';
import { CellmarkProcess, freePort } from './support/cellmark.ts';

let cellmark: CellmarkProcess;
test.afterAll(() => cellmark?.stop());

test('reports tab, run chart block shared between editors, read-only viewer', async ({ browser }) => {
  test.setTimeout(240_000);
  cellmark = new CellmarkProcess(await freePort());
  await cellmark.start();
  const ada = await signUpPatiently(cellmark, 'Ada', 'ada@example.test');
  const bob = await signUpPatiently(cellmark, 'Bob', 'bob@example.test');
  const vic = await signUpPatiently(cellmark, 'Vic', 'vic@example.test');
  const { team, project } = await cellmark.call<{ team: { id: string; slug: string }; project: { id: string; slug: string } }>(
    'setup.createWorkspace',
    { teamName: 'Analytical', projectName: 'Engine' },
    ada.headers,
  );
  await cellmark.call('teams.addMember', { teamId: team.id, email: 'bob@example.test', role: 'editor' }, ada.headers);
  await cellmark.call('teams.addMember', { teamId: team.id, email: 'vic@example.test', role: 'viewer' }, ada.headers);

  // Two runs that logged a metric, through the ingest API as the extension sends it.
  const { token } = await cellmark.call<{ token: string }>('tokens.create', { name: 'lab' }, ada.headers);
  const auth = { authorization: `Bearer ${token}` };
  const runIds: string[] = [];
  for (const n of [1, 2]) {
    const { runId } = await cellmark.call<{ runId: string }>(
      'ingest.startRun',
      {
        project: `${team.slug}/${project.slug}`,
        clientKey: `e2e-report-run-${n}`,
        notebookPath: 'train.ipynb',
        startedAt: new Date(Date.now() - (3 - n) * 60_000).toISOString(),
      },
      auth,
    );
    const time = new Date().toISOString();
    await cellmark.call(
      'ingest.metrics',
      { runId, points: Array.from({ length: 50 }, (_, step) => ({ key: 'train/loss', step, value: 1 / (step + n), time })) },
      auth,
    );
    runIds.push(runId);
  }

  // Reports tab: create, rename, delete, restore.
  const base = `${cellmark.url}/t/${team.slug}/${project.slug}`;
  const pa = await openAs(browser, cellmark, ada, `${base}?tab=reports`);
  await pa.getByTestId('new-report').click();
  await expect(pa).toHaveURL(/\/reports\/[0-9a-f-]{36}$/);
  const reportUrl = pa.url();
  await pa.goto(`${base}?tab=reports`);
  const row = pa.getByTestId('report-row').first();
  await row.getByTestId('rename-report').click();
  await pa.getByTestId('report-rename-input').fill('   ');
  await pa.getByTestId('report-rename-input').press('Enter');
  await expect(pa.getByTestId('form-error')).toContainText('title must not be empty');
  await pa.getByTestId('report-rename-input').fill('Loss curves');
  await pa.getByTestId('report-rename-input').press('Enter');
  await expect(row.getByRole('link')).toHaveText('Loss curves');
  await row.getByTestId('delete-report').click();
  await expect(pa.getByTestId('report-row')).toHaveCount(0);
  await pa.getByTestId('trash-view').click();
  await expect(pa.getByTestId('trash-title')).toHaveText('Loss curves');
  await pa.getByTestId('restore-report').click();
  await expect(pa.getByTestId('trash-row')).toHaveCount(0);
  await pa.getByTestId('reports-view').click();
  await expect(pa.getByTestId('report-row').getByRole('link')).toHaveText('Loss curves');

  // Ada writes and inserts a run chart; picks both runs and the metric.
  await pa.goto(reportUrl);
  const pb = await openAs(browser, cellmark, bob, reportUrl);
  await live(pa);
  await live(pb);
  await caretAtEnd(pa);
  await pa.keyboard.type('Loss of both runs:');
  await pa.getByTestId('insert-runChart').click();
  const blockA = pa.getByTestId('report-block');
  await expect(blockA.getByTestId('block-settings')).toBeVisible(); // opens for the one who inserted it
  await expect(pb.getByTestId('report-block')).toBeVisible();
  await expect(pb.getByTestId('block-settings')).toHaveCount(0); // not for co-editors
  await blockA.getByTestId('run-picker').locator('summary').click();
  for (const id of runIds) await blockA.locator(`[data-testid=run-option][value="${id}"]`).check();
  await blockA.getByTestId('run-picker').locator('summary').click();
  await blockA.getByTestId('key-picker').locator('summary').click();
  await blockA.locator('[data-testid=key-option][value="train/loss"]').check();

  const chartOnB = pb.getByTestId('run-chart-block');
  await expect(chartOnB).toHaveAttribute('data-keys', 'train/loss');
  await expect(chartOnB).toHaveAttribute('data-runs', runIds.join(','));
  await expect(chartOnB.getByTestId('chart')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await expect(pa.getByTestId('run-chart-block').getByTestId('chart')).toHaveAttribute('data-state', 'ready');

  // Bob switches the block to a saved filter: Ada sees the same configuration.
  await pb.getByTestId('block-settings-toggle').click();
  await pb.locator('[data-testid=block-source] input[value=filter]').check();
  await pb.getByTestId('block-filter').fill(`${base}?tab=runs&notebook=train`);
  await pb.getByTestId('block-filter').press('Enter');
  await pb.getByTestId('block-filter-limit').fill('1');
  const chartOnA = pa.getByTestId('run-chart-block');
  await expect(chartOnA).toHaveAttribute('data-source', 'filter');
  await expect(chartOnA).toHaveAttribute('data-runs', runIds[1]!); // the most recent matching run
  await expect(pa.getByTestId('report-block')).toContainText('notebook=train');
  await converged([pa, pb]);

  // A viewer sees the document and the chart, no toolbar, no block settings, read-only.
  const pv = await openAs(browser, cellmark, vic, reportUrl);
  await live(pv);
  await expect(pv.getByTestId('read-only')).toBeVisible();
  await expect(pv.getByTestId('report-toolbar')).toHaveCount(0);
  await expect(pv.getByTestId('block-settings-toggle')).toHaveCount(0);
  await expect(pv.getByTestId('report-text')).toHaveAttribute('contenteditable', 'false');
  await expect(pv.getByTestId('report-text')).toContainText('Loss of both runs:');
  await expect(pv.getByTestId('run-chart-block')).toHaveAttribute('data-runs', runIds[1]!);
  await expect(pv.getByTestId('presence-user')).toHaveCount(3);

  // A view-only link, opened without an account: the chart shows the run's real data (read
  // through the link, which grants exactly what the report charts), with its name.
  const reportId = reportUrl.split('/').pop()!;
  const share = await cellmark.call<{ token: string }>('reportShares.create', { reportId }, ada.headers);
  const { run } = await cellmark.call<{ run: { name: string } }>('runs.get', { runId: runIds[1] }, ada.headers, 'query');
  const ps = await (await browser.newContext()).newPage();
  await ps.goto(`${cellmark.url}/share/${share.token}`);
  const sharedBlock = ps.getByTestId('run-chart-block');
  await expect(sharedBlock).toHaveAttribute('data-runs', runIds[1]!);
  const sharedChart = sharedBlock.getByTestId('chart');
  await expect(sharedChart).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  expect(Number(await sharedChart.getAttribute('data-buckets'))).toBeGreaterThan(0);
  await expect(sharedChart.getByTestId('chart-legend')).toHaveText(run.name);
  await expect(sharedBlock.locator('.alert-error')).toHaveCount(0);
  // the line is on the canvas, in the run's legend colour
  await expect.poll(() => sharedChart.evaluate(linePixels), { timeout: 10_000 }).toBeGreaterThan(20);
});

/** Canvas pixels in the colour of the chart's first legend swatch (the drawn line). */
function linePixels(chart: HTMLElement): number {
  const swatch = chart.querySelector('[data-testid=chart-legend] .swatch');
  const canvas = chart.querySelector('canvas');
  if (!swatch || !canvas) return 0;
  const [r, g, b] = (getComputedStyle(swatch).backgroundColor.match(/\d+/g) ?? []).map(Number);
  const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
  let n = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3]! > 200 && Math.abs(data[i]! - r!) < 40 && Math.abs(data[i + 1]! - g!) < 40 && Math.abs(data[i + 2]! - b!) < 40) n++;
  }
  return n;
}
