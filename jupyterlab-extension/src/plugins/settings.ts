// Loads the Cellmark settings (schema/plugin.json) and keeps them current
// for the other plugins as the user edits them in the Settings Editor.
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { type ISignal, Signal } from '@lumino/signaling';
import { configFromSettings, DEFAULT_CONFIG, type ICellmarkConfig } from '../config';
import { ICellmarkSettings } from '../tokens';

// ':plugin' pairs with schema/plugin.json; the quickstart writes overrides under this id.
export const SETTINGS_PLUGIN_ID = '@cellmark/jupyterlab:plugin';

class CellmarkSettings implements ICellmarkSettings {
  private _config: ICellmarkConfig = DEFAULT_CONFIG;
  private readonly _changed = new Signal<this, ICellmarkConfig>(this);

  get config(): ICellmarkConfig {
    return this._config;
  }

  get changed(): ISignal<this, ICellmarkConfig> {
    return this._changed;
  }

  update(settings: ISettingRegistry.ISettings): void {
    const next = configFromSettings(settings.composite);
    const previous = this._config;
    this._config = next;
    if (JSON.stringify(previous) !== JSON.stringify(next)) {
      this._changed.emit(next);
    }
  }
}

export const settingsPlugin: JupyterFrontEndPlugin<ICellmarkSettings> = {
  id: SETTINGS_PLUGIN_ID,
  description: 'Cellmark server URL, API token and project from the Settings Editor.',
  autoStart: true,
  requires: [ISettingRegistry],
  provides: ICellmarkSettings,
  activate: async (_app: JupyterFrontEnd, registry: ISettingRegistry): Promise<ICellmarkSettings> => {
    const model = new CellmarkSettings();
    try {
      const settings = await registry.load(SETTINGS_PLUGIN_ID);
      model.update(settings);
      settings.changed.connect(() => model.update(settings));
    } catch (reason) {
      // Without settings capture stays "not configured", which the status bar shows.
      console.error(`Cellmark: could not load settings for ${SETTINGS_PLUGIN_ID}`, reason);
    }
    return model;
  },
};
