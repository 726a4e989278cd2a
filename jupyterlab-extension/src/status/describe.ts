// What the status-bar item says for a capture state: short text, and a tooltip
// with the whole story: capture state, run, kernel capture, outbox, last error.
import { describeKernelCapture } from '../capture/kernel-activation';
import type { ICaptureState } from '../tokens';

export type StatusMode = 'off' | 'unconfigured' | 'paused' | 'error' | 'recording' | 'idle';

export interface IStatusView {
  text: string;
  title: string;
  mode: StatusMode;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Where pending executions wait, and what happens to them on reload. */
function outboxLine(state: ICaptureState): string | null {
  if (state.outboxFallback) {
    const waiting = state.pending > 0 ? `${plural(state.pending, 'execution')} waiting to be sent, kept` : 'Executions waiting to be sent are kept';
    return `${waiting} in memory only — ${state.outboxFallback}; they are lost if this page is closed or reloaded.`;
  }
  if (state.pending > 0) {
    return `${plural(state.pending, 'execution')} waiting to be sent (kept in this browser, also across reloads).`;
  }
  return null;
}

export function describeStatus(state: ICaptureState): IStatusView {
  const pending = state.pending > 0 ? ` · ${state.pending} pending` : '';
  const who = state.user ? ` as ${state.user.name || state.user.email}` : '';
  const notebook = state.notebookPath ?? 'this notebook';
  const lines: string[] = [];
  let text: string;
  let mode: StatusMode;

  if (!state.enabled) {
    text = `Cellmark: off${pending}`;
    mode = 'off';
    lines.push('Capture: off — recording is switched off in Settings → Cellmark.');
  } else if (state.missing.length > 0) {
    text = 'Cellmark: not configured';
    mode = 'unconfigured';
    lines.push(`Capture: not configured — set ${state.missing.join(', ')} in Settings → Cellmark to record runs. Click to open the settings.`);
  } else if (state.paused) {
    text = `Cellmark: paused${pending}`;
    mode = 'paused';
    lines.push(
      `Capture: paused for ${notebook} (its metadata says cellmark.capture = false). Run “Cellmark: Resume Capture for This Notebook” to record it again.`,
    );
  } else {
    if (state.run) {
      text = `Cellmark: ${state.run.name}${pending}`;
      lines.push(`Capture: recording ${notebook} to ${state.project}${who}.`, `Run: ${state.run.name} — click to open it.`);
    } else if (state.starting) {
      text = `Cellmark: starting run…${pending}`;
      lines.push(`Capture: recording ${notebook} to ${state.project}${who}; the run is being created.`);
    } else if (state.notebookPath) {
      text = `Cellmark: recording${pending}`;
      lines.push(`Capture: recording ${notebook} to ${state.project}${who}; its run opens when the kernel starts or a cell runs.`);
    } else {
      text = `Cellmark: ready${pending}`;
      lines.push(`Capture: Cellmark records runs to ${state.project}${who} once a notebook has a kernel.`);
    }
    mode = state.run || state.starting || state.notebookPath ? 'recording' : 'idle';
    if (state.kernelCapture || state.starting) {
      lines.push(`${describeKernelCapture(state.kernelCapture).replace(/^kernel capture/, 'Kernel capture')}.`);
    }
    if (state.error) {
      text = `Cellmark: ⚠ ${state.error.short}${pending}`;
      mode = 'error';
    }
  }
  const outbox = outboxLine(state);
  if (outbox) {
    lines.push(outbox);
  }
  // The status of everything else comes first; the last error ends the tooltip.
  if (state.error && mode !== 'unconfigured') {
    lines.push(`Last error: ${state.error.message}`);
  }
  return { text, title: lines.join('\n'), mode };
}
