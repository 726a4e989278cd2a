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
  notebookPath: 'analysis.ipynb',
  project: 'team/proj',
  pending: 0,
  error: null,
  user: { id: 'u1', name: 'Ada', email: 'ada@example.com' }
};

describe('describeStatus', () => {
  it('says "not configured" when settings are missing', () => {
    const view = describeStatus({ ...base, missing: ['apiToken', 'project'], user: null });
    expect(view.text).toBe('Cellmark: not configured');
    expect(view.title).toContain('Set apiToken, project in Settings → Cellmark');
  });

  it('names the run while recording', () => {
    const view = describeStatus({
      ...base,
      run: { runId: 'r1', name: 'brave-otter-17', url: '/t/team/proj/runs/r1' },
      runUrl: 'http://localhost:3000/t/team/proj/runs/r1'
    });
    expect(view.text).toBe('Cellmark: brave-otter-17');
    expect(view.mode).toBe('recording');
    expect(view.title).toContain('as Ada');
  });

  it('shows a short error with the full message in the tooltip, plus pending', () => {
    const error = new CellmarkError('unauthorized', 'token rejected (401): API token revoked', 401);
    const view = describeStatus({ ...base, error, pending: 12 });
    expect(view.text).toBe('Cellmark: ⚠ token rejected · 12 pending');
    expect(view.title).toBe(
      'token rejected (401): API token revoked\n12 executions waiting to be sent (kept while this page is open).'
    );
    expect(view.mode).toBe('error');
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
    expect(describeStatus({ ...base, notebookPath: null }).text).toBe('Cellmark: ready');
  });
});
