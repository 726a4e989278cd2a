// A quick-start user's first hour in the browser: the sign-in page loads without a failing
// request, signing in lands on the project's runs, the empty runs page says to run a cell in
// the JupyterLab `npm start` set up, the avatar's initials, the Charts tab's default keys (the
// user's own, not system/…) and whole-step axis ticks, and a 404 for an unknown team, project, run or report.
import { type Browser, expect, type Page, test } from '@playwright/test';
import { CellmarkProcess, createWorkspace, freePort } from './support/cellmark.ts';

const LAB_URL = 'http://localhost:8888/lab';
const PASSWORD = 'correct horse battery';
let cellmark: CellmarkProcess;
let workspace: Awaited<ReturnType<typeof createWorkspace>>;
// sign-in is rate-limited per client: each context comes "through a proxy" from its own address
let clients = 0;
const newClient = (browser: Browser) => browser.newContext({ extraHTTPHeaders: { 'x-forwarded-for': `198.51.100.${++clients}` } });

test.beforeAll(async () => {
  // as `npm start` runs it: its JupyterLab records to the first project
  cellmark = new CellmarkProcess(await freePort(), undefined, {
    CELLMARK_TRUSTED_PROXIES: '127.0.0.1,::1',
    CELLMARK_LOCAL_LAB_URL: LAB_URL,
    CELLMARK_LOCAL_LAB_PROJECT: 'local/notebooks',
  });
  await cellmark.start();
  workspace = await createWorkspace(cellmark, { name: 'Local user', email: 'you@localhost.test' }, 'Local', 'Notebooks');
});
test.afterAll(() => cellmark?.stop());

/** Signs in through the form, as a person does, with no ?next=. */
async function signIn(page: Page) {
  await page.goto(`${cellmark.url}/sign-in`);
  await page.getByLabel('Email').fill('you@localhost.test');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect.poll(() => new URL(page.url()).pathname).not.toBe('/sign-in');
}

test('the sign-in page loads without a failed request or a console error, also when opened as the Cellmark URL', async ({ browser }) => {
  // the address `npm start` prints is the root: signed out, it leads to /sign-in
  for (const path of ['/sign-in', '/']) {
    const context = await newClient(browser);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
    page.on('response', (r) => r.status() >= 400 && problems.push(`${r.status()} ${r.url()}`));
    await page.goto(`${cellmark.url}${path}`);
    await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
    await page.waitForLoadState('networkidle');
    expect({ path, problems }).toEqual({ path, problems: [] });
    await context.close();
  }
});

test('signing in lands on the runs, whose empty state says to run a cell in the local JupyterLab; the avatar reads LU', async ({ browser }) => {
  const context = await newClient(browser);
  const page = await context.newPage();
  await signIn(page);
  await expect.poll(() => new URL(page.url()).pathname).toBe('/t/local/notebooks');
  const empty = page.getByTestId('runs-empty');
  await expect(empty).toHaveAttribute('data-setup', 'quick-start');
  await expect(page.getByTestId('run-a-cell')).toContainText(`Run a cell in JupyterLab at ${LAB_URL}`);
  await expect(page.getByTestId('run-a-cell').getByRole('link')).toHaveAttribute('href', LAB_URL);
  // the token and settings steps are only for another JupyterLab, folded away
  await expect(empty.getByRole('link', { name: 'Settings → API tokens' })).toBeHidden();
  await expect(page.getByTestId('user-menu').locator('.avatar')).toHaveText('LU');

  // a project the local JupyterLab does not record to: only its project needs setting
  const teamId = (workspace.team as { slug: string; id?: string }).id!;
  const other = await cellmark.call<{ slug: string }>('projects.create', { teamId, name: 'Vision' }, workspace.headers);
  await page.goto(`${cellmark.url}/t/local/${other.slug}`);
  await expect(page.getByTestId('runs-empty')).toHaveAttribute('data-setup', 'manual');
  await expect(page.getByTestId('runs-empty')).toContainText('it records to local/notebooks now');
  await context.close();
});

test('sign-in lands where this browser was last, else on the project with the latest run', async ({ browser }) => {
  // notebooks has the latest run; vision (made in the test above) is the newer project
  await cellmark.call(
    'ingest.startRun',
    { project: 'local/notebooks', clientKey: 'first-hour-run-1', notebookPath: 'a.ipynb', startedAt: new Date().toISOString() },
    { authorization: `Bearer ${workspace.token}` },
  );
  const context = await newClient(browser);
  const page = await context.newPage();
  await signIn(page);
  await expect.poll(() => new URL(page.url()).pathname).toBe('/t/local/notebooks');
  await page.goto(`${cellmark.url}/t/local/vision`);
  await expect(page.getByTestId('runs-empty')).toBeVisible();
  await page.getByTestId('user-menu').locator('summary').click();
  await page.getByTestId('sign-out').click();
  await expect.poll(() => new URL(page.url()).pathname).toBe('/sign-in');
  await signIn(page);
  await expect.poll(() => new URL(page.url()).pathname).toBe('/t/local/vision');
  await context.close();
});

test("the Charts tab charts the user's own metrics, system metrics listed below, unticked; step ticks are whole steps", async ({ browser }) => {
  const auth = { authorization: `Bearer ${workspace.token}` };
  const { runId } = await cellmark.call<{ runId: string }>(
    'ingest.startRun',
    { project: 'local/notebooks', clientKey: 'first-hour-run-2', notebookPath: 'b.ipynb', startedAt: new Date().toISOString() },
    auth,
  );
  const time = new Date().toISOString();
  const system = [
    'system/cpu.process_pct',
    'system/cpu.system_pct',
    'system/disk.read_mbps',
    'system/mem.process_rss_mib',
    'system/net.recv_mbps',
    'system/net.sent_mbps',
  ];
  await cellmark.call(
    'ingest.metrics',
    {
      runId,
      points: [
        // one point, and steps 0…3: the two charts whose labels read "0 0 0 1 1 1"
        { key: 'loss', step: 0, value: 0.5, time },
        ...[0, 1, 2, 3].map((step) => ({ key: 'acc', step, value: step / 4, time })),
        ...system.flatMap((key) => [0, 1, 2].map((step) => ({ key, step, value: 10 + step, time }))),
      ],
    },
    auth,
  );
  const context = await newClient(browser);
  const page = await context.newPage();
  await signIn(page);
  await page.goto(`${cellmark.url}/t/local/notebooks?tab=charts&runs=${runId}`);
  const charts = page.getByTestId('chart');
  await expect(charts).toHaveCount(2);
  expect(await charts.evaluateAll((els) => els.map((e) => e.getAttribute('data-key')).sort())).toEqual(['acc', 'loss']);

  await page.getByTestId('key-picker').locator('summary').click();
  const options = page.getByTestId('key-option');
  expect(await options.evaluateAll((els) => els.map((e) => [(e as HTMLInputElement).value, (e as HTMLInputElement).checked]))).toEqual([
    ['acc', true],
    ['loss', true],
    ...system.map((key) => [key, false]),
  ]);
  await expect(page.getByTestId('key-section-system').getByTestId('key-option')).toHaveCount(system.length);

  const loss = page.locator('[data-testid="chart"][data-key="loss"]');
  const acc = page.locator('[data-testid="chart"][data-key="acc"]');
  await expect(loss).toHaveAttribute('data-state', 'ready');
  await expect(acc).toHaveAttribute('data-state', 'ready');
  await expect(loss).toHaveAttribute('data-x-ticks', '0 1');
  await expect(acc).toHaveAttribute('data-x-ticks', '0 1 2 3');
  await context.close();
});

test('an unknown team, project, run or report answers HTTP 404; known ones 200', async () => {
  const get = (path: string) => fetch(`${cellmark.url}${path}`, { headers: { cookie: workspace.cookie }, redirect: 'manual' });
  const { runId } = await cellmark.call<{ runId: string }>(
    'ingest.startRun',
    { project: 'local/notebooks', clientKey: 'first-hour-404', notebookPath: 'known.ipynb', startedAt: new Date().toISOString() },
    { authorization: `Bearer ${workspace.token}` },
  );
  const report = await cellmark.call<{ id: string }>('reports.create', { projectId: workspace.project.id, title: 'Known' }, workspace.headers);
  for (const known of ['/t/local', '/t/local/notebooks', `/t/local/notebooks/runs/${runId}`, `/t/local/notebooks/reports/${report.id}`]) {
    expect({ known, status: (await get(known)).status }).toEqual({ known, status: 200 });
  }
  const unknown = [
    '/t/no-such-team',
    '/t/local/no-such-project',
    '/t/no-such-team/notebooks',
    '/t/local/Not%20A%20Slug', // slugs no project can have
    `/t/local/notebooks/runs/${crypto.randomUUID()}`,
    '/t/local/notebooks/runs/not-a-run-id',
    `/t/local/vision/runs/${runId}`, // a run of another project
    `/t/local/notebooks/reports/${crypto.randomUUID()}`,
    '/t/local/notebooks/reports/not-a-report-id',
  ];
  for (const path of unknown) expect({ path, status: (await get(path)).status }).toEqual({ path, status: 404 });
  expect(await (await get('/t/local/no-such-project')).text()).toContain('Page not found');
});
