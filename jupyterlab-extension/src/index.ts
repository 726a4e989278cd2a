// @cellmark/jupyterlab: records every executed notebook cell as a Cellmark run.
// Each plugin does one thing; see the files in plugins/.
import type { JupyterFrontEndPlugin } from '@jupyterlab/application';
import { capturePlugin } from './plugins/capture';
import { commandsPlugin } from './plugins/commands';
import { gpuStatusPlugin } from './plugins/gpu-status';
import { notificationsPlugin } from './plugins/notifications';
import { settingsPlugin } from './plugins/settings';
import { statusItemPlugin } from './plugins/status-item';

export { CommandIDs } from './command-ids';
export type { ICaptureState } from './tokens';
export { ICellmarkCapture, ICellmarkSettings } from './tokens';

const plugins: JupyterFrontEndPlugin<unknown>[] = [settingsPlugin, capturePlugin, statusItemPlugin, gpuStatusPlugin, commandsPlugin, notificationsPlugin];

export default plugins;
