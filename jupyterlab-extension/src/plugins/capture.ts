// Records every executed cell of every open notebook as a Cellmark run.
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { INotebookTracker } from '@jupyterlab/notebook';
import { CellmarkApi } from '../api';
import { CaptureService } from '../capture/capture-service';
import { openOutbox } from '../capture/idb-outbox';
import { BroadcastPageLiveness } from '../capture/page-liveness';
import { Shipper } from '../capture/shipper';
import { missingSettings } from '../config';
import { ICellmarkCapture, ICellmarkSettings } from '../tokens';

/** Runs left open by closed pages are ended once their kernel is gone; checked this often. */
const ORPHAN_CHECK_MS = 60_000;

export const capturePlugin: JupyterFrontEndPlugin<ICellmarkCapture> = {
  id: '@cellmark/jupyterlab:capture',
  description: 'Records executed notebook cells as Cellmark runs, one run per kernel session.',
  autoStart: true,
  requires: [INotebookTracker, ICellmarkSettings],
  provides: ICellmarkCapture,
  activate: async (app: JupyterFrontEnd, tracker: INotebookTracker, settings: ICellmarkSettings): Promise<ICellmarkCapture> => {
    const api = new CellmarkApi(() => settings.config);
    const { outbox, fallbackReason } = await openOutbox();
    if (fallbackReason) {
      console.warn(`Cellmark: ${fallbackReason}; recorded executions are kept in memory only.`);
    }
    const liveness = new BroadcastPageLiveness();
    const shipper = new Shipper({
      api,
      outbox,
      liveness,
      canSend: () => missingSettings(settings.config).length === 0,
      project: () => settings.config.project,
    });
    const service = new CaptureService({
      settings,
      tracker,
      shipper,
      whoami: () => api.whoami(),
      healthy: () => api.healthy(),
      updateRun: (input) => api.updateRun(input),
      outboxFallback: fallbackReason,
    });

    const kernels = app.serviceManager.kernels;
    const endOrphans = async () => {
      try {
        await kernels.ready;
        await kernels.refreshRunning();
        const running = new Set([...kernels.running()].map((k) => k.id));
        await shipper.endOrphans((id) => running.has(id));
      } catch (reason) {
        console.warn('Cellmark: could not check for runs left by closed pages', reason);
      }
    };
    // Give reopened notebooks time to take their runs back first.
    setTimeout(() => void endOrphans(), 10_000);
    setInterval(() => void endOrphans(), ORPHAN_CHECK_MS);

    window.addEventListener('beforeunload', (event) => {
      // Only an in-memory outbox loses what is pending when the page goes.
      if (!outbox.persistent && shipper.pending > 0) {
        event.preventDefault();
      }
    });
    // A page going away (tab closed, laptop lid, another tab) sends what is pending at
    // once with keepalive requests, which outlive it; the outbox keeps everything anyway.
    const flushOnHide = () => shipper.flushOnHide(service.inFlight());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'hidden') {
        flushOnHide();
      } else {
        shipper.pageShown();
      }
    });
    window.addEventListener('pagehide', () => {
      flushOnHide();
      liveness.dispose();
    });
    return service;
  },
};
