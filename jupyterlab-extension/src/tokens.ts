// Services the Cellmark plugins provide to each other (and to other extensions).
import { Token } from '@lumino/coreutils';
import type { ISignal } from '@lumino/signaling';
import type { IRunInfo, IUser } from './api';
import type { KernelCaptureState } from './capture/kernel-activation';
import type { ICellmarkConfig } from './config';
import type { CellmarkError } from './request';

export interface ICellmarkSettings {
  readonly config: ICellmarkConfig;
  /** Emits the new config after every change in the Settings Editor. */
  readonly changed: ISignal<ICellmarkSettings, ICellmarkConfig>;
}

export const ICellmarkSettings = new Token<ICellmarkSettings>(
  '@cellmark/jupyterlab:ICellmarkSettings',
  'The Cellmark server URL, API token, project and on/off switch, kept up to date.',
);

/** What the status bar and commands show about recording. */
export interface ICaptureState {
  enabled: boolean;
  /** Names of the settings still missing; empty when configured. */
  missing: string[];
  /** The current notebook's run, once the server created it. */
  run: IRunInfo | null;
  /** Absolute URL of that run's page. */
  runUrl: string | null;
  /** The current notebook is recording but its run is not created yet. */
  starting: boolean;
  /** Capture is paused for the current notebook (its metadata). */
  paused: boolean;
  /** How the kernel side stands for the current notebook's run; null without a run. */
  kernelCapture: KernelCaptureState | null;
  notebookPath: string | null;
  project: string;
  /** Executions recorded and not yet accepted by the server. */
  pending: number;
  /** Why pending executions are kept in memory only (lost on reload); null when persistent. */
  outboxFallback: string | null;
  /** The current problem: bad settings, server unreachable, rejected data. */
  error: CellmarkError | null;
  /** Who the token belongs to, once checked. */
  user: IUser | null;
}

export interface ICellmarkCapture {
  readonly state: ICaptureState;
  readonly stateChanged: ISignal<ICellmarkCapture, ICaptureState>;
  /** Pause or resume capture for the current notebook; returns the new paused state, null without a notebook. */
  togglePause(): boolean | null;
  /** End the current notebook's run and start a new one for the same kernel session. */
  newRun(): boolean;
  /** Rename the current notebook's run (ingest.updateRun). */
  renameRun(name: string): Promise<void>;
  /** Replace the tags of the current notebook's run (ingest.updateRun). */
  setRunTags(tags: string[]): Promise<void>;
}

export const ICellmarkCapture = new Token<ICellmarkCapture>(
  '@cellmark/jupyterlab:ICellmarkCapture',
  'Records executed notebook cells as Cellmark runs and reports what it is doing.',
);
