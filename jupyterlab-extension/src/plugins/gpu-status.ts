// The GPU status-bar item: live utilisation and memory of the current
// notebook kernel's GPUs, pushed by the kernel side over the `cellmark.system`
// comm (docs/ingest-api.md, "System metrics"). Hidden without a GPU.
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { INotebookTracker, type NotebookPanel } from '@jupyterlab/notebook';
import { IStatusBar } from '@jupyterlab/statusbar';
import { Signal } from '@lumino/signaling';
import { GpuMonitor, type ICommKernel } from '../system/gpu-monitor';
import { GpuStatusWidget } from '../system/gpu-status-widget';

/** Re-render this often so a reading that stopped coming is hidden. */
const REFRESH_MS = 10_000;

export const gpuStatusPlugin: JupyterFrontEndPlugin<void> = {
  id: '@cellmark/jupyterlab:gpu-status',
  description: "Shows the GPU utilisation and memory of the current notebook's kernel in the status bar.",
  autoStart: true,
  requires: [INotebookTracker, IStatusBar],
  activate: (_app: JupyterFrontEnd, tracker: INotebookTracker, statusBar: IStatusBar): void => {
    const monitor = new GpuMonitor();
    const widget = new GpuStatusWidget();
    const visibility = new Signal<GpuMonitor, void>(monitor);
    let visible = false;
    const currentKernelId = () => tracker.currentWidget?.sessionContext.session?.kernel?.id ?? null;
    const render = () => {
      const now = widget.render(monitor.sample(currentKernelId()));
      if (now !== visible) {
        visible = now;
        visibility.emit();
      }
    };
    // Registered on every kernel connection as soon as it is known, before the
    // capture plugin activates the kernel side (which opens the comm).
    const follow = (panel: NotebookPanel) => {
      const watch = () => monitor.watch(panel.sessionContext.session?.kernel as unknown as ICommKernel | undefined);
      watch();
      panel.sessionContext.kernelChanged.connect(() => {
        watch();
        render();
      });
    };
    tracker.forEach(follow);
    tracker.widgetAdded.connect((_, panel) => follow(panel));
    tracker.currentChanged.connect(render);
    monitor.changed.connect((_, kernelId) => {
      if (kernelId === currentKernelId()) {
        render();
      }
    });
    statusBar.registerStatusItem(gpuStatusPlugin.id, {
      item: widget,
      align: 'left',
      rank: 1001,
      isActive: () => visible,
      activeStateChanged: visibility,
    });
    setInterval(render, REFRESH_MS);
    render();
  },
};
