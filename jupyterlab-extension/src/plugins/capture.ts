// Records every executed cell of every open notebook as a Cellmark run.
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { INotebookTracker } from '@jupyterlab/notebook';
import { CellmarkApi } from '../api';
import { CaptureService } from '../capture/capture-service';
import { MemoryOutbox } from '../capture/outbox';
import { Shipper } from '../capture/shipper';
import { missingSettings } from '../config';
import { ICellmarkCapture, ICellmarkSettings } from '../tokens';

export const capturePlugin: JupyterFrontEndPlugin<ICellmarkCapture> = {
  id: '@cellmark/jupyterlab:capture',
  description: 'Records executed notebook cells as Cellmark runs, one run per kernel session.',
  autoStart: true,
  requires: [INotebookTracker, ICellmarkSettings],
  provides: ICellmarkCapture,
  activate: (
    _app: JupyterFrontEnd,
    tracker: INotebookTracker,
    settings: ICellmarkSettings
  ): ICellmarkCapture => {
    const api = new CellmarkApi(() => settings.config);
    const shipper = new Shipper({
      api,
      // The seam for the persistent (IndexedDB) outbox.
      outbox: new MemoryOutbox(),
      canSend: () => missingSettings(settings.config).length === 0,
      project: () => settings.config.project
    });
    const service = new CaptureService({
      settings,
      tracker,
      shipper,
      whoami: () => api.whoami()
    });
    window.addEventListener('beforeunload', event => {
      // Until the outbox is persistent, leaving with unsent executions loses them.
      if (shipper.pending > 0) {
        event.preventDefault();
      }
    });
    return service;
  }
};
