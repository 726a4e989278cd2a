// The frontend's share of capture (issue 13): main-thread time per execution that the
// JupyterLab extension adds, in a real JupyterLab with a real kernel, driven by Chromium.
//
// One notebook, one cell run again and again through JupyterLab's own `notebook:run-cell`
// command (what Ctrl+Enter does), in alternating blocks with capture on and paused for the
// notebook (the extension's own toggle: paused, it ignores the kernel's messages and the
// kernel side is switched off), so drift of a shared machine hits both alike. Per block,
// Chrome's own counters (CDP Performance.getMetrics: TaskDuration = main-thread busy time,
// ScriptDuration = JavaScript) are read before and after; the difference on − paused per
// execution is what capture costs the page. A CPU profile of one block in each mode adds the
// self time of functions in the extension's bundle (on and paused) and the five costliest.
//
//   npx tsx test/bench/capture-frontend.ts          (needs .venv with JupyterLab + the built extension, as e2e)
//
// CELLS=300 per mode and workload, BLOCK=25, WORKLOADS=trivial,print10.

import { loadavg } from 'node:os';
import { type CDPSession, chromium, type Page } from 'playwright-core';
import { CellmarkProcess, freePort, waitFor } from '../e2e/support/cellmark.ts';
import { LabProcess, notebook } from '../e2e/support/lab.ts';

const CELLS = Number(process.env.CELLS ?? 300);
const BLOCK = Number(process.env.BLOCK ?? 25);
const WORKLOADS = (process.env.WORKLOADS ?? 'trivial,print10').split(',');
const SOURCES: Record<string, string> = {
  trivial: '1',
  print10: 'for i in range(10):\n    print("line", i)',
};

type Mode = 'on' | 'paused';
interface Block {
  mode: Mode;
  taskMs: number;
  scriptMs: number;
  wallMs: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function metrics(cdp: CDPSession) {
  const { metrics } = await cdp.send('Performance.getMetrics');
  const get = (name: string) => metrics.find((m) => m.name === name)?.value ?? 0;
  return { task: get('TaskDuration') * 1000, script: get('ScriptDuration') * 1000 };
}

/** Runs the notebook's first cell `n` times, each waiting for the kernel's reply. */
async function runBlock(page: Page, n: number) {
  const run = page.evaluate(async (count) => {
    const app = (window as unknown as { jupyterapp: { commands: { execute(id: string): Promise<unknown> } } }).jupyterapp;
    for (let i = 0; i < count; i++) await app.commands.execute('notebook:run-cell');
  }, n);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`a block of ${n} executions took over 120 s`)), 120_000)));
  await Promise.race([run, limit]).finally(() => clearTimeout(timer));
}

/** The Cellmark status item: its mode and its tooltip (which says how the kernel side stands). */
async function status(page: Page) {
  const item = page.locator('[data-cellmark-mode]').first();
  return { mode: (await item.getAttribute('data-cellmark-mode')) ?? '', title: (await item.getAttribute('title')) ?? '' };
}

async function setMode(page: Page, mode: Mode) {
  if (((await status(page)).mode === 'paused') !== (mode === 'paused')) {
    await page.evaluate(() =>
      (window as unknown as { jupyterapp: { commands: { execute(id: string): Promise<unknown> } } }).jupyterapp.commands.execute(
        '@cellmark/jupyterlab:toggle-pause',
      ),
    );
  }
  // on: recording, with the kernel side switched on again before the block starts
  await waitFor(
    async () => {
      const now = await status(page);
      return mode === 'paused' ? now.mode === 'paused' : now.mode === 'recording' && /Kernel capture: on/.test(now.title);
    },
    `capture ${mode}`,
    30_000,
  );
}

/** Self time per execution of the extension bundle's functions over one block (CPU profile). */
async function profileBlock(cdp: CDPSession, page: Page, n: number) {
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.send('Profiler.start');
  await runBlock(page, n);
  const { profile } = await cdp.send('Profiler.stop');
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const deltas = profile.timeDeltas ?? [];
  const samples = profile.samples ?? [];
  const ours = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < samples.length; i++) {
    const frame = byId.get(samples[i]!)?.callFrame;
    if (!frame?.url.includes('@cellmark/jupyterlab')) continue;
    const ms = (deltas[i + 1] ?? 0) / 1000 / n;
    total += ms;
    const name = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').pop()}:${frame.lineNumber + 1}`;
    ours.set(name, (ours.get(name) ?? 0) + ms);
  }
  return { total, top: [...ours].sort((a, b) => b[1] - a[1]).slice(0, 5) };
}

async function main() {
  const cellmark = new CellmarkProcess(await freePort(), undefined, { CELLMARK_NO_WEB: '1' });
  await cellmark.start();
  const lab = new LabProcess();
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    const { headers } = await cellmark.signUp('Bench', 'bench@example.test', 'correct horse battery');
    const { team, project } = await cellmark.call<{ team: { slug: string }; project: { slug: string } }>(
      'setup.createWorkspace',
      { teamName: 'Bench', projectName: 'Frontend' },
      headers,
    );
    const { token } = await cellmark.call<{ token: string }>('tokens.create', { name: 'bench' }, headers);
    const files = Object.fromEntries(WORKLOADS.map((w) => [`${w}.ipynb`, notebook([SOURCES[w]!])]));
    await lab.start({ serverUrl: cellmark.url, apiToken: token, project: `${team.slug}/${project.slug}` }, files);
    console.log(
      `capture-frontend: ${CELLS} executions per mode and workload, blocks of ${BLOCK}; load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    for (const workload of WORKLOADS) {
      const context = await browser.newContext(); // one JupyterLab workspace per page
      const page = await context.newPage();
      await page.goto(`${lab.url}/lab/tree/${workload}.ipynb`);
      await page.locator('.jp-NotebookPanel .jp-Cell').first().waitFor({ timeout: 60_000 });
      await waitFor(
        () =>
          page.evaluate(
            () =>
              (window as unknown as { jupyterapp: { shell: { currentWidget: { sessionContext?: { session?: { kernel?: { status: string } } } } } } }).jupyterapp
                .shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle',
          ),
        'kernel idle',
      );
      await page.locator('.jp-NotebookPanel .jp-Cell').first().click();
      const cdp = await context.newCDPSession(page);
      await cdp.send('Performance.enable');
      await setMode(page, 'on');
      await runBlock(page, BLOCK); // warm-up: JIT, first outputs, the run opened
      const blocks: Block[] = [];
      for (let i = 0; i < (2 * CELLS) / BLOCK; i++) {
        const mode: Mode = i % 2 === 0 ? 'on' : 'paused';
        await setMode(page, mode);
        const before = await metrics(cdp);
        const t0 = performance.now();
        await runBlock(page, BLOCK);
        const wallMs = performance.now() - t0;
        const after = await metrics(cdp);
        blocks.push({ mode, taskMs: (after.task - before.task) / BLOCK, scriptMs: (after.script - before.script) / BLOCK, wallMs: wallMs / BLOCK });
      }
      await setMode(page, 'on');
      const profiledOn = await profileBlock(cdp, page, BLOCK);
      await setMode(page, 'paused');
      const profiledPaused = await profileBlock(cdp, page, BLOCK);
      const of = (mode: Mode, k: keyof Omit<Block, 'mode'>) => median(blocks.filter((b) => b.mode === mode).map((b) => b[k]));
      const row = (k: keyof Omit<Block, 'mode'>, label: string) =>
        console.log(
          `  ${label.padEnd(26)} on ${of('on', k).toFixed(3)} ms   paused ${of('paused', k).toFixed(3)} ms   added ${(of('on', k) - of('paused', k)).toFixed(3)} ms   ratio ${(of('on', k) / of('paused', k)).toFixed(2)}`,
        );
      console.log(`${workload} (${JSON.stringify(SOURCES[workload])}), medians of ${blocks.length / 2} blocks per mode, per execution:`);
      row('taskMs', 'main thread (TaskDuration)');
      row('scriptMs', 'JavaScript (ScriptDuration)');
      row('wallMs', 'wall per execution');
      console.log(
        `  extension bundle self time (CPU profile): on ${profiledOn.total.toFixed(3)} ms, paused ${profiledPaused.total.toFixed(3)} ms per execution; most (on):`,
      );
      for (const [name, ms] of profiledOn.top) console.log(`    ${ms.toFixed(3)} ms  ${name}`);
      await context.close();
    }
  } finally {
    await browser.close();
    await lab.stop();
    await cellmark.stop().catch(() => {});
  }
}

await main();
