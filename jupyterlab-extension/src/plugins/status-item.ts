// The status-bar item: what Cellmark is doing for the current notebook.
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { IStatusBar } from '@jupyterlab/statusbar';
import { CommandIDs } from '../command-ids';
import { CellmarkStatusWidget } from '../status/status-widget';
import { ICellmarkCapture } from '../tokens';

export const statusItemPlugin: JupyterFrontEndPlugin<void> = {
  id: '@cellmark/jupyterlab:status-item',
  description: 'Shows the current Cellmark run, missing settings or errors in the status bar.',
  autoStart: true,
  requires: [ICellmarkCapture, IStatusBar],
  activate: (app: JupyterFrontEnd, capture: ICellmarkCapture, statusBar: IStatusBar): void => {
    const widget = new CellmarkStatusWidget(() => {
      const command = capture.state.runUrl ? CommandIDs.openRun : CommandIDs.openSettings;
      if (app.commands.hasCommand(command)) {
        void app.commands.execute(command);
      }
    });
    widget.render(capture.state);
    capture.stateChanged.connect((_, state) => widget.render(state));
    statusBar.registerStatusItem('@cellmark/jupyterlab:status-item', {
      item: widget,
      align: 'left',
      rank: 1000,
    });
  },
};
