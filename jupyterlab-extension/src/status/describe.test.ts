import { describe, expect, it } from 'vitest';
import { CellmarkError } from '../request';
import type { ICaptureState } from '../tokens';
import { describeStatus } from './describe';

const base: ICaptureState = {
  enabled: true,
  missing: [],
  run: null,
  runUrl: null,
  starting: false,
  paused: false,
  kernelCapture: null,
  notebookPath: 'analysis.ipynb',
  project: 'team/proj',
  pending: 0,
  outboxFallback: null,
  error: null,
  user: { id: 'u1', name: 'Ada', email: 'ada@example.com' },
};

describe('describeStatus', () => {
  it('says "not configured" when settings are missing', () => {
    const view = describeStatus({ ...base, missing: ['apiToken', 'project'], user: null });
    expect(view.text).toBe('Cellmark: not configured');
    expect(view.title).toContain('Capture: not configured — set apiToken, project in Settings → Cellmark');
  });

  it('names the run while recording', () => {
    const view = describeStatus({
      ...base,
      run: { runId: 'r1', name: 'brave-otter-17', url: '/t/team/proj/runs/r1' },
      runUrl: 'http://localhost:3000/t/team/proj/runs/r1',
    });
    expect(view.text).toBe('Cellmark: brave-otter-17');
    expect(view.mode).toBe('recording');
    expect(view.title).toContain('as Ada');
  });

  it('shows a short error with the full message in the tooltip, plus pending', () => {
    const error = new CellmarkError('unauthorized', 'token rejected (401): API token revoked', 401);
    const view = describeStatus({ ...base, error, pending: 12 });
    expect(view.text).toBe('Cellmark: ⚠ token rejected · 12 pending');
    expect(view.title.split('\n')).toEqual([
      'Capture: recording analysis.ipynb to team/proj as Ada; its run opens when the kernel starts or a cell runs.',
      '12 executions waiting to be sent (kept in this browser, also across reloads).',
      'Last error: token rejected (401): API token revoked',
    ]);
    expect(view.mode).toBe('error');
  });

  it('says when capture is paused for this notebook', () => {
    const view = describeStatus({ ...base, paused: true, pending: 2 });
    expect(view.text).toBe('Cellmark: paused · 2 pending');
    expect(view.mode).toBe('paused');
    expect(view.title).toMatch(/^Capture: paused for analysis.ipynb .*Resume Capture for This Notebook/);
  });

  it('says how kernel-side capture stands', () => {
    const run = { runId: 'r1', name: 'brave-otter-17', url: '/t/team/proj/runs/r1' };
    const on = describeStatus({ ...base, run, kernelCapture: { kind: 'on', version: '0.1.0', implementation: 'cpython 3.11.7' } });
    expect(on.title).toContain('Kernel capture: on (cellmark 0.1.0, cpython 3.11.7).');
    const missing = describeStatus({
      ...base,
      run,
      kernelCapture: { kind: 'unavailable', reason: "cellmark is not installed in this kernel's environment — pip install jupyterlab-cellmark there" },
    });
    expect(missing.title).toContain(
      "Kernel capture: unavailable: cellmark is not installed in this kernel's environment — pip install jupyterlab-cellmark there.",
    );
    const julia = describeStatus({ ...base, run, kernelCapture: { kind: 'not-python', language: 'julia' } });
    expect(julia.title).toContain('frontend capture');
  });

  it('warns when pending executions are kept in memory only', () => {
    const view = describeStatus({ ...base, pending: 3, outboxFallback: 'IndexedDB is unavailable (denied)' });
    expect(view.title).toContain(
      '3 executions waiting to be sent, kept in memory only — IndexedDB is unavailable (denied); they are lost if this page is closed or reloaded.',
    );
    expect(describeStatus({ ...base, outboxFallback: 'this browser offers no IndexedDB' }).title).toContain('in memory only');
  });

  it('shows the unreachable server', () => {
    const error = new CellmarkError('unreachable', 'Cellmark server unreachable at http://localhost:3000');
    expect(describeStatus({ ...base, error }).text).toBe('Cellmark: ⚠ server unreachable');
  });

  it('prefers "not configured" over an error and "off" over both', () => {
    const error = new CellmarkError('unreachable', 'x');
    expect(describeStatus({ ...base, missing: ['apiToken'], error }).text).toBe('Cellmark: not configured');
    expect(describeStatus({ ...base, enabled: false, missing: ['apiToken'], error }).text).toBe('Cellmark: off');
  });

  it('says when a run is being created and when nothing runs yet', () => {
    expect(describeStatus({ ...base, starting: true }).text).toBe('Cellmark: starting run…');
    expect(describeStatus({ ...base }).text).toBe('Cellmark: recording');
    expect(describeStatus({ ...base, notebookPath: null }).text).toBe('Cellmark: ready');
  });
});
