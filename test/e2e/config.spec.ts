// Config means hyperparameters: a digits-style training notebook run in a real JupyterLab
// with a real kernel yields exactly its literal hyperparameters as config (not the model,
// the timer, the loop variables or the score), and the run page says which execution set
// each one ("set in [1]" for a value set in [1], not the execution after it).
import { expect, test } from '@playwright/test';
import { CellmarkProcess, createWorkspace, freePort, signInBrowser, waitFor } from './support/cellmark.ts';
import { LabProcess, notebook, openNotebookReady, runCell } from './support/lab.ts';

let cellmark: CellmarkProcess;
let lab: LabProcess;

test.afterAll(async () => {
  await lab?.stop();
  await cellmark?.stop();
});

const DIGITS = [
  'lr = 0.1\nepochs = 3\nhidden = [64, 32]\nx = 2',
  'import time\nt0 = time.time()\n\nclass MLP:\n    def __init__(self, hidden, lr):\n        self.hidden, self.lr = hidden, lr\n' +
    '    def fit_step(self, step):\n        return 1.0 / (step + 1)\n    def score(self):\n        return 0.93',
  'model = MLP(hidden, lr)',
  'for step in range(epochs):\n    loss = model.fit_step(step)',
  'acc = model.score()\nelapsed = time.time() - t0\nprint(acc)',
  'seed = 7',
];

interface RunDetail {
  run: { config: Record<string, unknown> };
  cells: { status: string }[];
  configHistory: { key: string; value: unknown; executionCount: number | null }[];
}

test('a training notebook’s config is its literal hyperparameters, each “set in” the execution that set it', async ({ page, context }) => {
  cellmark = new CellmarkProcess(await freePort());
  await cellmark.start();
  const { cookie, auth, team, project, token, labProject } = await createWorkspace(
    cellmark,
    { name: 'Grace', email: 'grace@example.test' },
    'Hopper',
    'Digits',
  );
  lab = new LabProcess();
  await lab.start({ serverUrl: cellmark.url, apiToken: token, project: labProject }, { 'digits.ipynb': notebook(DIGITS) });

  const cells = await openNotebookReady(page, lab.url, 'digits.ipynb', DIGITS.length);
  for (let i = 0; i < DIGITS.length; i++) await runCell(cells.nth(i), i + 1);

  let runId = '';
  let detail: RunDetail | undefined;
  await waitFor(async () => {
    const { runs } = await cellmark.call<{ runs: { id: string }[] }>('runs.list', { projectId: project.id }, auth, 'query');
    runId = runs[0]?.id ?? '';
    if (!runId) return false;
    detail = await cellmark.call<RunDetail>('runs.get', { runId }, auth, 'query');
    return detail.cells.filter((c) => c.status === 'ok').length === DIGITS.length && 'seed' in detail.run.config;
  }, 'every execution and the last config on the server');

  expect(detail!.run.config).toEqual({ lr: 0.1, epochs: 3, hidden: [64, 32], x: 2, seed: 7 });
  const history = detail!.configHistory.map((h) => [h.key, h.executionCount]).sort();
  expect(history).toEqual([
    ['epochs', 1],
    ['hidden', 1],
    ['lr', 1],
    ['seed', 6],
    ['x', 1],
  ]);

  // what the run page shows
  await signInBrowser(context, cellmark.url, cookie);
  const web = await context.newPage();
  await web.goto(`${cellmark.url}/t/${team.slug}/${project.slug}/runs/${runId}`);
  const rows = web.getByTestId('config-row');
  await expect(rows).toHaveCount(5);
  const shown = await rows.evaluateAll((trs) =>
    trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent?.replace(/[▸▾]/g, '').trim())),
  );
  expect(shown.map((r) => [r[0], r[2]]).sort()).toEqual([
    ['epochs', 'set in [1]'],
    ['hidden', 'set in [1]'],
    ['lr', 'set in [1]'],
    ['seed', 'set in [6]'],
    ['x', 'set in [1]'],
  ]);
});
