// Issue 5 end to end: the kernel side samples the GPU (a fake nvidia-smi first on the
// JupyterLab server's PATH, which the kernel inherits) and the real CPU/RAM while a cell
// sleeps with its tab closed; the run page's System section charts them on the cells'
// wall-time axis, the cell's span over the GPU chart.
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { CellmarkProcess, freePort, repoRoot, signInBrowser, waitFor } from './support/cellmark.ts';
import { LabProcess, notebook, openNotebookReady, runCell } from './support/lab.ts';

const FAKE_BIN = path.join(repoRoot, 'jupyterlab-extension', 'tests', 'fakes', 'bin');
const SAVED = {
  PATH: process.env.PATH,
  FAKE_NVIDIA_SMI_APPS: process.env.FAKE_NVIDIA_SMI_APPS,
  FAKE_NVIDIA_SMI_PID: process.env.FAKE_NVIDIA_SMI_PID,
  CELLMARK_SYSTEM_INTERVAL: process.env.CELLMARK_SYSTEM_INTERVAL,
};

let cellmark: CellmarkProcess;
let lab: LabProcess;
test.afterAll(async () => {
  await lab?.stop();
  await cellmark?.stop();
  for (const [name, value] of Object.entries(SAVED)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

type Series = { range: [number, number] | null; series: { x: number[]; count: number[]; max: (number | null)[] }[] };

test('system metrics from a fake GPU and the real CPU chart on the run page, aligned with the cells', async ({ page, context }) => {
  cellmark = new CellmarkProcess(await freePort());
  await cellmark.start();
  const { headers, cookie } = await cellmark.signUp('Grace', 'grace@example.test', 'correct horse battery');
  const { team, project } = await cellmark.call<{ team: { slug: string }; project: { id: string; slug: string } }>(
    'setup.createWorkspace',
    { teamName: 'Hopper', projectName: 'Cobol' },
    headers,
  );
  const { token } = await cellmark.call<{ token: string }>('tokens.create', { name: 'lab' }, headers);
  const auth = { cookie, origin: cellmark.url };

  // the JupyterLab server (and so the kernel) finds the fake first; its compute-apps rows
  // name the kernel (the process that runs nvidia-smi) so per-process GPU memory is known
  process.env.PATH = `${FAKE_BIN}${path.delimiter}${process.env.PATH}`;
  process.env.FAKE_NVIDIA_SMI_APPS = 'compute-apps.csv';
  process.env.FAKE_NVIDIA_SMI_PID = 'parent';
  process.env.CELLMARK_SYSTEM_INTERVAL = '1';
  lab = new LabProcess();
  await lab.start(
    { serverUrl: cellmark.url, apiToken: token, project: `${team.slug}/${project.slug}` },
    { 'gpu.ipynb': notebook(['x = 1', 'import time\ntime.sleep(15)']) },
  );
  const cells = await openNotebookReady(page, lab.url, 'gpu.ipynb', 2);
  await runCell(cells.nth(0), 1);

  // the long cell starts, then its tab goes away: the kernel keeps sampling and sending
  await cells.nth(1).locator('.jp-InputArea-editor').click();
  await page.keyboard.press('Control+Enter');
  await expect(cells.nth(1).locator('.jp-InputArea-prompt')).toHaveText('[*]:');
  let runId = '';
  await waitFor(
    async () => {
      runId = (await cellmark.call<{ runs: { id: string }[] }>('runs.list', { projectId: project.id }, auth, 'query')).runs[0]?.id ?? '';
      return Boolean(runId);
    },
    'the run',
    30_000,
  );
  await page.close();

  const series = (key: string) =>
    cellmark.call<Series>('metrics.series', { projectId: project.id, runIds: [runId], key, width: 800, xAxis: 'time' }, auth, 'query');
  const points = async (key: string) => (await series(key)).series[0]!.count.reduce((a, b) => a + b, 0);
  type Detail = {
    run: { status: string; startedAt: string };
    cells: { executionCount: number | null; status: string; startedAt: string; endedAt: string | null }[];
  };
  let detail!: Detail;
  await waitFor(
    async () => {
      detail = await cellmark.call<Detail>('runs.get', { runId }, auth, 'query');
      const sleep = detail.cells.find((c) => c.executionCount === 2);
      return sleep?.status === 'ok' && (await points('system/gpu.0.util')) >= 5 && (await points('system/cpu.process_pct')) >= 5;
    },
    'the 15 s cell finished and ≥ 5 GPU and CPU samples on the server',
    90_000,
  );

  const keys = await cellmark.call<string[]>('metrics.keys', { projectId: project.id, runIds: [runId] }, auth, 'query');
  expect(keys).toEqual(
    expect.arrayContaining([
      'system/gpu.0.util',
      'system/gpu.0.mem_used_mib',
      'system/gpu.0.mem_total_mib',
      'system/gpu.0.power_w',
      'system/gpu.0.temp_c',
      'system/cpu.process_pct',
      'system/mem.process_rss_mib',
      'system/mem.system_total_mib',
    ]),
  );
  // the fake's GPU 0 runs at 87 %; the samples sit in the cell's time span, in epoch ms
  const util = await series('system/gpu.0.util');
  expect(Math.max(...util.series[0]!.max.filter((v): v is number => v !== null))).toBe(87);
  const sleep = detail.cells.find((c) => c.executionCount === 2)!;
  const [s0, s1] = [Date.parse(sleep.startedAt), Date.parse(sleep.endedAt!)];
  expect(s1 - s0).toBeGreaterThanOrEqual(14_000);
  expect(util.series[0]!.x.filter((x) => x >= s0 && x <= s1).length).toBeGreaterThanOrEqual(5);

  await signInBrowser(context, cellmark.url, cookie);
  const runPage = await context.newPage();
  await runPage.goto(`${cellmark.url}/t/${team.slug}/${project.slug}/runs/${runId}`);
  const section = runPage.getByTestId('system-section');
  await section.scrollIntoViewIfNeeded();
  await expect(section.getByTestId('system-gpu-model')).toContainText('NVIDIA H100 80GB HBM3');
  await expect(section.getByTestId('system-gpu-model')).toContainText('driver 550.54.15');
  for (const id of ['gpu-util', 'gpu-memory', 'gpu-power', 'gpu-temp', 'cpu', 'memory']) {
    const chart = section.locator(`[data-testid="system-chart"][data-key="${id}"]`);
    await chart.scrollIntoViewIfNeeded();
    await expect(chart, id).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
    expect(Number(await chart.getAttribute('data-buckets')), `${id} buckets`).toBeGreaterThan(0);
    await expect(chart.locator('canvas').first()).toBeVisible();
  }
  // memory used against total: one solid and one dashed line for GPU 0
  await expect(section.locator('[data-testid="system-chart"][data-key="gpu-memory"] [data-testid="chart-legend"]')).toContainText('GPU 0 used');
  await expect(section.locator('[data-testid="system-chart"][data-key="gpu-memory"] [data-testid="chart-legend"]')).toContainText('GPU 0 total');
  // every chart shares the run's wall-time window, and the cell's span lies in it
  const gpuRange = (await section.locator('[data-testid="system-chart"][data-key="gpu-util"]').getAttribute('data-range'))!.split(',').map(Number);
  const cpuRange = await section.locator('[data-testid="system-chart"][data-key="cpu"]').getAttribute('data-range');
  expect(cpuRange).toBe(gpuRange.join(','));
  expect(gpuRange[0]).toBeLessThanOrEqual(s0);
  expect(gpuRange[1]).toBeGreaterThanOrEqual(s1);
  const span = section.locator('[data-testid="system-cell-span"][data-execution-count="2"]');
  await expect(span).toBeVisible();
  expect((await span.boundingBox())!.width).toBeGreaterThan(20);
  // the user's own metrics section shows no system/ keys
  await expect(runPage.locator('[data-testid="metrics-section"] [data-key^="system/"]')).toHaveCount(0);

  // the runs table offers the ready-made columns: peak GPU memory and mean GPU util
  await runPage.goto(`${cellmark.url}/t/${team.slug}/${project.slug}`);
  await runPage.getByTestId('column-picker').locator('summary').click();
  await runPage.locator('[data-testid="summary-preset-option"][value="max:system/gpu.0.mem_used_mib"]').check();
  await runPage.locator('[data-testid="summary-preset-option"][value="mean:system/gpu.0.util"]').check();
  const row = runPage.getByTestId('run-row').first();
  await expect(row.locator('td[data-column="summary-max:system/gpu.0.mem_used_mib"]')).toHaveText('12,595');
  await expect(row.locator('td[data-column="summary-mean:system/gpu.0.util"]')).toHaveText('87');
  await expect(runPage.locator('th[data-column="summary-max:system/gpu.0.mem_used_mib"]')).toContainText('peak GPU 0 memory');
});
