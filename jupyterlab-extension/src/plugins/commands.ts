// Commands: open the current run's page, open the Cellmark settings.
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { CommandIDs } from '../command-ids';
import { ICellmarkCapture } from '../tokens';
import { SETTINGS_PLUGIN_ID } from './settings';

export const commandsPlugin: JupyterFrontEndPlugin<void> = {
  id: '@cellmark/jupyterlab:commands',
  description: 'Cellmark commands: open the run page, open the settings.',
  autoStart: true,
  requires: [ICellmarkCapture],
  optional: [ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    capture: ICellmarkCapture,
    palette: ICommandPalette | null
  ): void => {
    app.commands.addCommand(CommandIDs.openRun, {
      label: 'Cellmark: Open Run Page',
      caption: 'Open the current notebook’s Cellmark run in a new browser tab',
      isEnabled: () => capture.state.runUrl !== null,
      execute: () => {
        const url = capture.state.runUrl;
        if (url) {
          window.open(url, '_blank', 'noopener');
        }
      }
    });
    app.commands.addCommand(CommandIDs.openSettings, {
      label: 'Cellmark: Open Settings',
      caption: 'Set the Cellmark server URL, API token and project',
      execute: () => app.commands.execute('settingeditor:open', { query: 'Cellmark' })
    });
    capture.stateChanged.connect(() => app.commands.notifyCommandChanged(CommandIDs.openRun));

    if (palette) {
      palette.addItem({ command: CommandIDs.openRun, category: 'Cellmark' });
      palette.addItem({ command: CommandIDs.openSettings, category: 'Cellmark' });
    }
  }
};
