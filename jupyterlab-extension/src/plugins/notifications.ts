// One notification per new problem (not per retry): a new error, or a
// different one, notifies; the same error persisting across retries does not.
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { CommandIDs } from '../command-ids';
import { ErrorNotifier } from '../status/error-notifier';
import { ICellmarkCapture } from '../tokens';

export const notificationsPlugin: JupyterFrontEndPlugin<void> = {
  id: '@cellmark/jupyterlab:notifications',
  description: 'Notifies once when Cellmark cannot record or send runs.',
  autoStart: true,
  requires: [ICellmarkCapture],
  activate: (app: JupyterFrontEnd, capture: ICellmarkCapture): void => {
    const notifier = new ErrorNotifier((error) => {
      const fixable = error.kind === 'unauthorized' || error.kind === 'forbidden' || error.kind === 'not-found' || error.kind === 'bad-response';
      Notification.error(`Cellmark: ${error.message}`, {
        autoClose: false,
        actions: fixable
          ? [
              {
                label: 'Open settings',
                callback: () => void app.commands.execute(CommandIDs.openSettings),
              },
            ]
          : [],
      });
    });
    notifier.update(capture.state.error);
    capture.stateChanged.connect((_, state) => notifier.update(state.error));
  },
};
