// Command IDs registered by the Cellmark plugins (palette category "Cellmark").
export namespace CommandIDs {
  /** Open the current notebook's run page on the Cellmark server in a new tab. */
  export const openRun = '@cellmark/jupyterlab:open-run';
  /** Open the Settings Editor at the Cellmark settings. */
  export const openSettings = '@cellmark/jupyterlab:open-settings';
  /** Pause or resume capture for the current notebook (its metadata). */
  export const togglePause = '@cellmark/jupyterlab:toggle-pause';
  /** End the current run and start a new one for the same kernel session. */
  export const newRun = '@cellmark/jupyterlab:new-run';
  /** Rename the current run. */
  export const setRunName = '@cellmark/jupyterlab:set-run-name';
  /** Replace the current run's tags. */
  export const setRunTags = '@cellmark/jupyterlab:set-run-tags';
}
