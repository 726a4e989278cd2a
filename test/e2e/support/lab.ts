// Starts a real JupyterLab (from the repo's .venv, with the extension pip-installed) with
// the Cellmark settings written as user settings, in a temporary notebook directory.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, type Locator, type Page } from '@playwright/test';
import { freePort, repoRoot, waitFor } from './cellmark.ts';

export const venvBin = path.join(process.env.CELLMARK_VENV ?? path.join(repoRoot, '.venv'), 'bin');

export interface LabSettings {
  serverUrl: string;
  apiToken: string;
  project: string;
}

export function notebook(cells: string[]) {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
    cells: cells.map((source, i) => ({ id: `cell-${i + 1}`, cell_type: 'code', metadata: {}, source, outputs: [], execution_count: null })),
  };
}

export class LabProcess {
  private child: ChildProcess | null = null;
  log = '';
  url = '';
  readonly root = mkdtempSync(path.join(tmpdir(), 'cellmark-lab-'));

  /** `env`: on top of this process's, for the Lab server and the kernels it starts. */
  async start(settings: LabSettings, files: Record<string, unknown>, env: Record<string, string> = {}) {
    const jupyter = path.join(venvBin, 'jupyter');
    if (!existsSync(jupyter)) throw new Error(`no JupyterLab at ${jupyter}: run .ci/run (or npm start) once to create .venv`);
    const settingsDir = path.join(this.root, '.settings');
    mkdirSync(path.join(settingsDir, '@cellmark', 'jupyterlab'), { recursive: true });
    writeFileSync(path.join(settingsDir, '@cellmark', 'jupyterlab', 'plugin.jupyterlab-settings'), JSON.stringify(settings));
    const notebooks = path.join(this.root, 'notebooks');
    mkdirSync(notebooks);
    for (const [name, content] of Object.entries(files)) writeFileSync(path.join(notebooks, name), JSON.stringify(content));
    const port = await freePort();
    this.url = `http://localhost:${port}`;
    const started = Date.now();
    this.child = spawn(
      jupyter,
      [
        'lab',
        '--no-browser',
        `--port=${port}`,
        '--ServerApp.port_retries=0',
        `--ServerApp.root_dir=${notebooks}`,
        '--IdentityProvider.token=',
        '--ServerApp.password=',
        '--ServerApp.disable_check_xsrf=True',
        `--LabApp.user_settings_dir=${settingsDir}`,
        `--LabApp.workspaces_dir=${path.join(this.root, '.workspaces')}`,
        '--LabApp.expose_app_in_browser=True',
        ...(process.getuid?.() === 0 ? ['--allow-root'] : []),
      ],
      {
        cwd: notebooks,
        env: { ...process.env, PATH: `${venvBin}${path.delimiter}${process.env.PATH}`, JUPYTER_CONFIG_DIR: path.join(this.root, '.jupyter'), ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child.stdout!.on('data', (d) => (this.log += d));
    this.child.stderr!.on('data', (d) => (this.log += d));
    await waitFor(
      async () => {
        if (this.child?.exitCode !== null) throw new Error(`JupyterLab exited: ${this.log}`);
        return (await fetch(`${this.url}/api/status`)).ok;
      },
      'JupyterLab',
      90_000,
    );
    return Date.now() - started;
  }

  async stop() {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

/**
 * Runs one notebook cell the way a person does (click into it, Ctrl+Enter) and waits for
 * its prompt to show `[count]:`. A key press that lands before the editor has focus (slow
 * machines) does nothing; then the prompt is still `[ ]:` and we press again. A queued or
 * running cell shows `[*]:`, so nothing ever runs twice.
 */
export async function runCell(cell: Locator, count: number) {
  const page = cell.page();
  const prompt = cell.locator('.jp-InputArea-prompt');
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = (await prompt.textContent())?.trim();
    await cell.locator('.jp-InputArea-editor').click();
    await page.keyboard.press('Control+Enter');
    try {
      await expect(prompt).not.toHaveText(before ?? '', { timeout: 3000 });
      break;
    } catch {
      if ((await prompt.textContent())?.trim() !== before) break;
    }
  }
  await expect(prompt).toHaveText(`[${count}]:`);
}

/**
 * Opens a notebook of `cellCount` cells and waits until its kernel is idle and the Cellmark
 * status item says capture is on (a cell run before that may not be recorded by the kernel
 * side). Returns the cells. `workspace`: a JupyterLab workspace of its own, so what earlier
 * pages left open is not restored beside it.
 */
export async function openNotebookReady(page: Page, labUrl: string, file: string, cellCount: number, workspace?: string): Promise<Locator> {
  // labUrl may name a workspace itself (`…/lab/workspaces/<name>`): then only this notebook opens
  const url = workspace
    ? `${labUrl}/lab/workspaces/${workspace}/tree/${file}`
    : labUrl.includes('/lab/workspaces/')
      ? `${labUrl}/tree/${file}`
      : `${labUrl}/lab/tree/${file}`;
  await page.goto(url);
  const cells = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell');
  await expect(cells).toHaveCount(cellCount, { timeout: 60_000 });
  await page.waitForFunction(
    () =>
      (window as unknown as { jupyterapp: { shell: { currentWidget: { sessionContext?: { session?: { kernel?: { status: string } } } } } } }).jupyterapp.shell
        .currentWidget?.sessionContext?.session?.kernel?.status === 'idle',
    undefined,
    { timeout: 60_000 },
  );
  await expect(page.locator('.jp-StatusBar-Widget', { hasText: 'Cellmark' })).not.toContainText(/not configured|⚠|starting/, { timeout: 60_000 });
  return cells;
}
