// Services the Cellmark plugins provide to each other (and to other extensions).
import { Token } from '@lumino/coreutils';
import type { ISignal } from '@lumino/signaling';
import type { IRunInfo, IUser } from './api';
import type { ICellmarkConfig } from './config';
import type { CellmarkError } from './request';

export interface ICellmarkSettings {
  readonly config: ICellmarkConfig;
  /** Emits the new config after every change in the Settings Editor. */
  readonly changed: ISignal<ICellmarkSettings, ICellmarkConfig>;
}

export const ICellmarkSettings = new Token<ICellmarkSettings>(
  '@cellmark/jupyterlab:ICellmarkSettings',
  'The Cellmark server URL, API token, project and on/off switch, kept up to date.'
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
  notebookPath: string | null;
  project: string;
  /** Executions recorded and not yet accepted by the server. */
  pending: number;
  /** The current problem: bad settings, server unreachable, rejected data. */
  error: CellmarkError | null;
  /** Who the token belongs to, once checked. */
  user: IUser | null;
}

export interface ICellmarkCapture {
  readonly state: ICaptureState;
  readonly stateChanged: ISignal<ICellmarkCapture, ICaptureState>;
}

export const ICellmarkCapture = new Token<ICellmarkCapture>(
  '@cellmark/jupyterlab:ICellmarkCapture',
  'Records executed notebook cells as Cellmark runs and reports what it is doing.'
);
