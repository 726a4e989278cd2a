// Smoke check of the installed extension in a real JupyterLab with headless Chromium:
//  1. empty settings: loads without console errors, status bar "Cellmark: not configured";
//  2. configured against a stand-in Cellmark server (the tRPC ingest contract, CORS):
//     runs cells and checks what arrives, restarts the kernel, closes the notebook, shuts the kernel down;
//     while a cell sleeps, the GPU item shows the fake nvidia-smi's reading pushed by the
//     kernel side (tests/fakes/bin/nvidia-smi first on the kernel's PATH);
//  3. a wrong token: "Cellmark: ⚠ token rejected" and exactly one notification.
// Usage (repo root, after build:prod and pip install):
//   node jupyterlab-extension/scripts/check-in-lab.mjs [screenshot-dir]
// Env: JUPYTER (default .venv/bin/jupyter), CHROMIUM (default /usr/bin/chromium).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const LAB_PORT = 8899;
const SERVER_PORT = 3999;
const jupyter = process.env.JUPYTER ?? path.resolve('.venv/bin/jupyter');
const shots = process.argv[2] ?? null;
const work = mkdtempSync(path.join(tmpdir(), 'cellmark-lab-'));
const settingsDir = path.join(work, 'settings');
mkdirSync(settingsDir);
const failures = [];
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
};

// ---- stand-in Cellmark server: records every ingest call ----------------------
const received = [];
const server = http.createServer((req, res) => {
  const cors = {
    'access-control-allow-origin': '*',
    'access-control-allow-headers': 'authorization, content-type',
    'access-control-allow-methods': 'GET, POST, OPTIONS',
  };
  if (req.method === 'OPTIONS') {
    res.writeHead(204, cors).end();
    return;
  }
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    const procedure = new URL(req.url, 'http://x').pathname.replace('/api/trpc/', '');
    const input = body ? JSON.parse(body) : null;
    received.push({ procedure, auth: req.headers.authorization, input });
    const send = (status, payload) => {
      res.writeHead(status, { ...cors, 'content-type': 'application/json' }).end(JSON.stringify(payload));
    };
    if (req.headers.authorization !== 'Bearer cm_smoke_token') {
      send(401, { error: { message: 'unknown API token', data: { code: 'UNAUTHORIZED', httpStatus: 401 } } });
    } else if (procedure === 'ingest.whoami') {
      send(200, { result: { data: { user: { id: 'u1', name: 'Smoke Tester', email: 'smoke@example.com' } } } });
    } else if (procedure === 'ingest.startRun') {
      // idempotent on the client key, as the server is
      const keys = [...new Set(received.filter((r) => r.procedure === 'ingest.startRun').map((r) => r.input.clientKey))];
      const n = keys.indexOf(input.clientKey) + 1;
      const runId = `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
      send(200, { result: { data: { runId, name: `smoke-run-${n}`, url: `/t/smoke/lab/runs/${runId}` } } });
    } else if (procedure === 'ingest.cells') {
      send(200, { result: { data: { accepted: input.cells.length } } });
    } else {
      send(200, { result: { data: { ok: true } } });
    }
  });
});
await new Promise((resolve) => server.listen(SERVER_PORT, '127.0.0.1', resolve));

// ---- JupyterLab with its own settings dir (empty: nothing configured) -----------
const lab = spawn(
  jupyter,
  [
    'lab',
    '--allow-root',
    '--no-browser',
    `--port=${LAB_PORT}`,
    '--ServerApp.port_retries=0',
    '--ServerApp.token=',
    '--LabApp.expose_app_in_browser=True',
    `--ServerApp.root_dir=${work}`,
    // an empty app settings dir: the quick start's overrides.json must not configure this Lab
    `--LabApp.app_settings_dir=${path.join(work, 'app-settings')}`,
  ],
  {
    cwd: work,
    detached: true, // own process group, so kernels go down with it
    env: {
      ...process.env,
      JUPYTERLAB_SETTINGS_DIR: settingsDir,
      JUPYTERLAB_WORKSPACES_DIR: path.join(work, 'ws'),
      // kernels inherit these: a fake GPU for the system sampler, sampled every second
      PATH: `${path.resolve('jupyterlab-extension/tests/fakes/bin')}${path.delimiter}${process.env.PATH}`,
      CELLMARK_SYSTEM_INTERVAL: '1',
      FAKE_NVIDIA_SMI_APPS: 'compute-apps.csv',
      FAKE_NVIDIA_SMI_PID: 'parent',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  },
);
let labLog = '';
lab.stderr.on('data', (d) => (labLog = (labLog + d).slice(-20000)));

let browser;
try {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${LAB_PORT}/lab/api/settings`);
      if (r.ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`JupyterLab did not start:\n${labLog}`);
    await new Promise((r) => setTimeout(r, 250));
  }

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const consoleErrors = [];
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  const status = page.locator('.cm-CellmarkStatus');

  // ---- phase 1: not configured ---------------------------------------------------
  await page.goto(`http://127.0.0.1:${LAB_PORT}/lab`);
  await page.waitForFunction(() => window.jupyterapp?.started !== undefined);
  await page.evaluate(() => window.jupyterapp.started);
  await status.waitFor({ timeout: 60_000 });
  await page.waitForFunction(() => document.querySelector('.cm-CellmarkStatus')?.textContent === 'Cellmark: not configured', null, { timeout: 30_000 });
  check((await status.textContent()) === 'Cellmark: not configured', 'status bar says "Cellmark: not configured"');
  const plugins = await page.evaluate(() =>
    ['plugin', 'capture', 'status-item', 'gpu-status', 'commands', 'notifications'].map((p) => {
      const id = `@cellmark/jupyterlab:${p}`;
      return [id, window.jupyterapp.hasPlugin(id), window.jupyterapp.isPluginActivated(id)];
    }),
  );
  for (const [id, has, active] of plugins) check(has && active, `${id} registered and activated`);
  const commands = await page.evaluate(() =>
    ['@cellmark/jupyterlab:open-run', '@cellmark/jupyterlab:open-settings'].map((c) => window.jupyterapp.commands.hasCommand(c)),
  );
  check(commands.every(Boolean), 'commands open-run and open-settings registered');
  // A notebook with a kernel while unconfigured: nothing is sent, nothing breaks.
  await page.evaluate(() => window.jupyterapp.commands.execute('notebook:create-new', { kernelName: 'python3' }));
  await page.waitForFunction(() => window.jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle', null, { timeout: 60_000 });
  await page.waitForTimeout(1000);
  check(received.length === 0, 'no request to the Cellmark server while not configured');
  check((await status.textContent()) === 'Cellmark: not configured', 'still "not configured" with a kernel running');
  check(!(await page.locator('.cm-GpuStatus').isVisible()), 'no GPU item while the kernel side is not active');
  if (shots) await page.screenshot({ path: path.join(shots, 'lab-not-configured.png') });
  check(consoleErrors.length === 0, `no console errors (got: ${JSON.stringify(consoleErrors)})`);

  // ---- phase 2: configured against the stand-in server ------------------------------
  const raw = JSON.stringify({ serverUrl: `http://127.0.0.1:${SERVER_PORT}/`, apiToken: 'cm_smoke_token', project: 'smoke/lab' });
  const put = await page.evaluate(async (raw) => {
    // The service manager adds Lab's XSRF header; a plain fetch would get 403.
    await window.jupyterapp.serviceManager.settings.save('@cellmark/jupyterlab:plugin', raw);
    return 204;
  }, raw);
  check(put === 204, `settings saved through the Lab settings API (${put})`);
  // Shut the phase-1 kernel, reload: settings load from disk.
  await page.evaluate(async () => {
    window.jupyterapp.shell.currentWidget.dispose();
    await window.jupyterapp.serviceManager.sessions.shutdownAll();
  });
  await page.goto(`http://127.0.0.1:${LAB_PORT}/lab?reset`); // fresh workspace
  await page.waitForFunction(() => window.jupyterapp?.started !== undefined);
  await page.evaluate(() => window.jupyterapp.started);
  await page.evaluate(() => window.jupyterapp.commands.execute('notebook:create-new', { kernelName: 'python3' }));
  await page.waitForFunction(() => window.jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle', null, { timeout: 60_000 });
  // The run opens at the first execution (capture starts before it, kernel side included).
  await page.waitForFunction(() => /^Cellmark: recording$/.test(document.querySelector('.cm-CellmarkStatus')?.textContent ?? ''), null, { timeout: 30_000 });

  const sources = [
    "print('hello')\n6 * 7",
    '1/0',
    "from IPython.display import display\ndisplay({'image/png': 'iVBORw0KGgo=', 'text/plain': '<Figure>'}, raw=True)",
    "import sys; sys.stdout.write('y' * 300000); None",
  ];
  const cellIds = [];
  for (const [i, source] of sources.entries()) {
    const id = await page.evaluate(
      async ({ source, i }) => {
        const app = window.jupyterapp;
        const panel = app.shell.currentWidget;
        if (i > 0) await app.commands.execute('notebook:insert-cell-below');
        const cell = panel.content.activeCell;
        cell.model.sharedModel.setSource(source);
        await app.commands.execute('notebook:run-cell');
        return cell.model.id;
      },
      { source, i },
    );
    cellIds.push(id);
    await page.waitForFunction(() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle');
  }
  await page
    .waitForFunction(() => /^Cellmark: smoke-run-\d+$/.test(document.querySelector('.cm-CellmarkStatus')?.textContent ?? ''), null, { timeout: 30_000 })
    .catch(() => undefined);
  check(/^Cellmark: smoke-run-\d+$/.test(await status.textContent()), `status bar names the run (${await status.textContent()})`);
  const waitFor = async (pred, what, ms = 15_000) => {
    const end = Date.now() + ms;
    while (!pred() && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    check(pred(), what);
  };
  // the frontend's records (the kernel side sends its own, without outputs)
  const cells = () => received.filter((r) => r.procedure === 'ingest.cells' && r.input.origin !== 'kernel').flatMap((r) => r.input.cells);
  await waitFor(() => cells().length >= 4, 'four executions arrived');
  const byId = Object.fromEntries(cells().map((c) => [c.cellId, c]));
  const [c1, c2, c3, c4] = cellIds.map((id) => byId[id]);
  check(Boolean(c1 && c2 && c3 && c4), 'each execution carries its nbformat cell id (metadata.cellId)');
  check(c1?.status === 'ok' && c1.source === sources[0] && c1.executionCount === 1, 'cell 1: ok, source, execution count');
  check(
    JSON.stringify(c1?.outputs) ===
      JSON.stringify([
        { output_type: 'stream', name: 'stdout', text: 'hello\n' },
        { output_type: 'execute_result', data: { 'text/plain': '42' }, metadata: {}, execution_count: 1 },
      ]),
    `cell 1 outputs in nbformat shape (${JSON.stringify(c1?.outputs)})`,
  );
  check(
    c2?.status === 'error' && c2.error?.ename === 'ZeroDivisionError' && c2.outputs[0]?.output_type === 'error',
    'cell 2: error with ename and error output',
  );
  check(
    c3?.outputs?.[0]?.data?.['text/plain'] === '<Figure>' && c3.outputs[0].data['image/png'] === 'iVBORw0KGgo=',
    'cell 3: image kept as base64 with its text',
  );
  check(c4?.outputs?.[0]?.text?.length === 300000, 'cell 4: a 300 kB stream is kept whole (budget 8 MiB per execution)');
  if (shots) await page.screenshot({ path: path.join(shots, 'lab-recording.png') });
  check(
    cells().every((c) => c.startedAt <= c.endedAt && /Z$/.test(c.startedAt)),
    'ISO timestamps, start before end',
  );
  check(
    received.every((r) => r.auth === 'Bearer cm_smoke_token'),
    'every request carries the bearer token',
  );
  const start1 = received.find((r) => r.procedure === 'ingest.startRun')?.input;
  check(
    start1?.project === 'smoke/lab' && start1.kernelName === 'python3' && /\.ipynb$/.test(start1.notebookPath),
    `startRun input (${JSON.stringify(start1)})`,
  );

  // A long cell: the GPU reading still reaches the status bar (comm from the sampler thread).
  await page.evaluate(async () => {
    const app = window.jupyterapp;
    await app.commands.execute('notebook:insert-cell-below');
    app.shell.currentWidget.content.activeCell.model.sharedModel.setSource('import time; time.sleep(8)');
    void app.commands.execute('notebook:run-cell');
  });
  await page.waitForFunction(() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'busy');
  const gpu = page.locator('.cm-GpuStatus');
  await gpu.waitFor({ timeout: 15_000 }).catch(() => undefined);
  const gpuText = (await gpu.isVisible()) ? await gpu.textContent() : null;
  const busy = await page.evaluate(() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status);
  check(gpuText === 'GPU 87% · 12.3/79.6 GiB' && busy === 'busy', `GPU item while the cell runs (${gpuText}, kernel ${busy})`);
  check((await gpu.getAttribute('title'))?.includes('GPU 0: 87% busy, 12.3/79.6 GiB, this kernel 10 GiB'), `GPU tooltip (${await gpu.getAttribute('title')})`);
  if (shots) await page.screenshot({ path: path.join(shots, 'lab-gpu.png') });
  const systemKeys = () => new Set(received.filter((r) => r.procedure === 'ingest.metrics').flatMap((r) => r.input.points.map((p) => p.key)));
  await waitFor(
    () => systemKeys().has('system/gpu.0.util') && systemKeys().has('system/cpu.process_pct'),
    'system/* metrics arrived from the kernel side',
    30_000,
  );
  if (!systemKeys().has('system/gpu.0.util')) {
    const kernelSide = received.filter(
      (r) => r.input?.origin === 'kernel' || ['ingest.metrics', 'ingest.kernelHello', 'ingest.environment'].includes(r.procedure),
    );
    console.log(
      `  kernel-side requests: ${kernelSide.map((r) => `${r.procedure}(${r.input?.runId ?? ''})`).join(', ') || 'none'}; runs: ${received.filter((r) => r.procedure === 'ingest.startRun').length}`,
    );
    console.log(`  status tooltip: ${await status.getAttribute('title')}`);
    const probe = await page.evaluate(async () => {
      const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
      const future = kernel.requestExecute({
        code: '',
        silent: true,
        store_history: false,
        user_expressions: { s: '__import__("json").dumps(__import__("cellmark").status(), default=str)' },
      });
      const reply = await future.done;
      return JSON.stringify(reply.content.user_expressions);
    });
    console.log(`  cellmark.status() in the kernel: ${probe}`);
  }
  await page.waitForFunction(() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle', null, { timeout: 30_000 });

  // Restart: the run ends as finished and a new one starts.
  await page.evaluate(() => window.jupyterapp.shell.currentWidget.sessionContext.restartKernel());
  await waitFor(() => received.some((r) => r.procedure === 'ingest.endRun' && r.input.status === 'finished'), 'restart ends the run as finished');
  // (the restarted kernel and the page may both ask for the new run: the same client key)
  const runKeys = () => new Set(received.filter((r) => r.procedure === 'ingest.startRun').map((r) => r.input.clientKey)).size;
  await waitFor(() => runKeys() === 2, 'restart starts a new run');
  // Close the notebook: the kernel keeps its run; shutting the kernel down ends it.
  const secondEnded = () => received.some((r) => r.procedure === 'ingest.endRun' && r.input.runId.endsWith('000000000002'));
  await page.evaluate(() => window.jupyterapp.shell.currentWidget.dispose());
  await page.waitForTimeout(1000);
  check(!secondEnded(), 'closing the notebook leaves the run to its kernel');
  await page.evaluate(() => window.jupyterapp.serviceManager.sessions.shutdownAll());
  await waitFor(secondEnded, 'shutting the kernel down ends the second run');
  // JupyterLab's own debugger logs this when a kernel restarts under it (jlab_core);
  // it is not ours, so it does not count.
  const ours = consoleErrors.filter((e) => !e.startsWith('Could not restore the debugger state'));
  check(ours.length === 0, `no console errors while recording (got: ${JSON.stringify(consoleErrors)})`);

  // ---- phase 3: a rejected token shows in the status bar and notifies once --------------
  await page.evaluate(
    async (raw) => {
      await window.jupyterapp.serviceManager.settings.save('@cellmark/jupyterlab:plugin', raw);
    },
    JSON.stringify({ serverUrl: `http://127.0.0.1:${SERVER_PORT}`, apiToken: 'cm_wrong', project: 'smoke/lab' }),
  );
  await page.goto(`http://127.0.0.1:${LAB_PORT}/lab?reset`);
  await page.waitForFunction(() => window.jupyterapp?.started !== undefined);
  await page.evaluate(() => window.jupyterapp.started);
  await page.evaluate(() => window.jupyterapp.commands.execute('notebook:create-new', { kernelName: 'python3' }));
  await page.waitForFunction(() => window.jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle', null, { timeout: 60_000 });
  await page.waitForFunction(() => document.querySelector('.cm-CellmarkStatus')?.textContent === 'Cellmark: ⚠ token rejected', null, { timeout: 30_000 });
  await page.waitForTimeout(2000); // whoami and startRun both failed by now
  const title = await status.getAttribute('title');
  check(title?.endsWith('Last error: token rejected (401): unknown API token'), `tooltip has the full message (${title})`);
  const toasts = await page.locator('.Toastify__toast', { hasText: 'token rejected (401)' }).count();
  check(toasts === 1, `exactly one notification for the rejected token (${toasts})`);
  check(
    received.some((r) => r.procedure === 'ingest.whoami' && r.auth === 'Bearer cm_wrong'),
    'whoami was tried with the wrong token',
  );
  if (shots) await page.screenshot({ path: path.join(shots, 'lab-token-rejected.png') });
  await page.evaluate(() => window.jupyterapp.serviceManager.sessions.shutdownAll());
} catch (error) {
  failures.push(String(error?.stack ?? error));
  console.error(error);
} finally {
  await browser?.close();
  try {
    process.kill(-lab.pid, 'SIGTERM');
  } catch {}
  await new Promise((r) => setTimeout(r, 1000));
  try {
    process.kill(-lab.pid, 'SIGKILL');
  } catch {}
  server.close();
  rmSync(work, { recursive: true, force: true });
}
console.log(failures.length === 0 ? 'lab check passed' : `lab check FAILED (${failures.length})`);
process.exit(failures.length === 0 ? 0 : 1);
