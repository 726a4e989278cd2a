// What the status-bar item says for a capture state: short text, full tooltip.
import type { ICaptureState } from '../tokens';

export type StatusMode = 'off' | 'unconfigured' | 'error' | 'recording' | 'idle';

export interface IStatusView {
  text: string;
  title: string;
  mode: StatusMode;
}

export function describeStatus(state: ICaptureState): IStatusView {
  const pending =
    state.pending > 0
      ? ` · ${state.pending} pending`
      : '';
  const pendingLine =
    state.pending > 0
      ? `\n${state.pending} execution${state.pending === 1 ? '' : 's'} waiting to be sent (kept while this page is open).`
      : '';

  if (!state.enabled) {
    return {
      text: `Cellmark: off${pending}`,
      title: `Cellmark recording is switched off in Settings → Cellmark.${pendingLine}`,
      mode: 'off'
    };
  }
  if (state.missing.length > 0) {
    return {
      text: 'Cellmark: not configured',
      title: `Set ${state.missing.join(', ')} in Settings → Cellmark to record runs. Click to open the settings.`,
      mode: 'unconfigured'
    };
  }
  if (state.error) {
    return {
      text: `Cellmark: ⚠ ${state.error.short}${pending}`,
      title: `${state.error.message}${pendingLine}`,
      mode: 'error'
    };
  }
  const who = state.user ? ` as ${state.user.name || state.user.email}` : '';
  if (state.run) {
    return {
      text: `Cellmark: ${state.run.name}${pending}`,
      title: `Recording ${state.notebookPath ?? 'this notebook'} to ${state.project}${who}. Click to open the run.${pendingLine}`,
      mode: 'recording'
    };
  }
  if (state.starting) {
    return {
      text: `Cellmark: starting run…${pending}`,
      title: `Creating a run for ${state.notebookPath ?? 'this notebook'} in ${state.project}${who}.${pendingLine}`,
      mode: 'recording'
    };
  }
  return {
    text: `Cellmark: ready${pending}`,
    title: `Cellmark records runs to ${state.project}${who} once a notebook has a kernel.${pendingLine}`,
    mode: 'idle'
  };
}
