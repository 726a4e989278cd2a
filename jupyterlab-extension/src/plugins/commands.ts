// Commands, all in the palette under "Cellmark": open the run page, open the
// settings, pause/resume capture for this notebook, start a new run, set the
// run's name or tags.
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, InputDialog, Notification } from '@jupyterlab/apputils';
import { CommandIDs } from '../command-ids';
import { asCellmarkError } from '../request';
import { parseRunName, parseTags } from '../run-input';
import { ICellmarkCapture } from '../tokens';

export const commandsPlugin: JupyterFrontEndPlugin<void> = {
  id: '@cellmark/jupyterlab:commands',
  description: 'Cellmark commands: run page, settings, pause/resume, new run, run name and tags.',
  autoStart: true,
  requires: [ICellmarkCapture],
  optional: [ICommandPalette],
  activate: (app: JupyterFrontEnd, capture: ICellmarkCapture, palette: ICommandPalette | null): void => {
    const { commands } = app;
    const hasNotebook = () => capture.state.notebookPath !== null;
    const recordable = () => capture.state.enabled && capture.state.missing.length === 0;
    const fail = (what: string) => (reason: unknown) => {
      Notification.error(`Cellmark: could not ${what}: ${asCellmarkError(reason).message}`, { autoClose: 8000 });
    };

    commands.addCommand(CommandIDs.openRun, {
      label: 'Cellmark: Open Run in Browser',
      caption: 'Open the current notebook’s Cellmark run in a new browser tab',
      isEnabled: () => capture.state.runUrl !== null,
      execute: () => {
        const url = capture.state.runUrl;
        if (url) {
          window.open(url, '_blank', 'noopener');
        }
      },
    });
    commands.addCommand(CommandIDs.openSettings, {
      label: 'Cellmark: Open Settings',
      caption: 'Set the Cellmark server URL, API token and project',
      execute: () => commands.execute('settingeditor:open', { query: 'Cellmark' }),
    });
    commands.addCommand(CommandIDs.togglePause, {
      label: () => (capture.state.paused ? 'Cellmark: Resume Capture for This Notebook' : 'Cellmark: Pause Capture for This Notebook'),
      caption: 'Stop or restart recording this notebook (kept in its metadata: cellmark.capture = false); ends or starts the run',
      isEnabled: hasNotebook,
      execute: () => {
        const paused = capture.togglePause();
        if (paused !== null) {
          Notification.info(
            paused ? 'Cellmark: capture paused for this notebook. Save the notebook to keep it paused.' : 'Cellmark: capture resumed for this notebook.',
            { autoClose: 4000 },
          );
        }
      },
    });
    commands.addCommand(CommandIDs.newRun, {
      label: 'Cellmark: Start a New Run',
      caption: 'End the current run (finished) and record the same kernel session as a new run',
      isEnabled: () => hasNotebook() && recordable() && !capture.state.paused,
      execute: () => {
        if (!capture.newRun()) {
          Notification.warning('Cellmark: this notebook has no kernel to record.', { autoClose: 5000 });
        }
      },
    });
    commands.addCommand(CommandIDs.setRunName, {
      label: 'Cellmark: Set Run Name…',
      caption: 'Rename the current notebook’s Cellmark run',
      isEnabled: () => capture.state.run !== null,
      execute: async () => {
        const run = capture.state.run;
        if (!run) {
          return;
        }
        const result = await InputDialog.getText({ title: 'Cellmark run name', text: run.name, label: 'Name (1–200 characters)' });
        const name = result.button.accept ? parseRunName(result.value, run.name) : null;
        if (name) {
          await capture.renameRun(name).catch(fail('rename the run'));
        }
      },
    });
    commands.addCommand(CommandIDs.setRunTags, {
      label: 'Cellmark: Set Run Tags…',
      caption: 'Replace the tags of the current notebook’s Cellmark run',
      isEnabled: () => capture.state.run !== null,
      execute: async () => {
        if (!capture.state.run) {
          return;
        }
        const result = await InputDialog.getText({
          title: 'Cellmark run tags',
          label: 'Tags, separated by commas (replaces the run’s tags)',
          placeholder: 'baseline, lr-sweep',
        });
        if (result.button.accept) {
          await capture.setRunTags(parseTags(result.value ?? '')).catch(fail('set the tags'));
        }
      },
    });

    capture.stateChanged.connect(() => {
      for (const id of [CommandIDs.openRun, CommandIDs.togglePause, CommandIDs.newRun, CommandIDs.setRunName, CommandIDs.setRunTags]) {
        commands.notifyCommandChanged(id);
      }
    });

    if (palette) {
      for (const command of [
        CommandIDs.openRun,
        CommandIDs.togglePause,
        CommandIDs.newRun,
        CommandIDs.setRunName,
        CommandIDs.setRunTags,
        CommandIDs.openSettings,
      ]) {
        palette.addItem({ command, category: 'Cellmark' });
      }
    }
  },
};
