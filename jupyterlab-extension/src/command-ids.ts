// Command IDs registered by the Cellmark plugins.
export namespace CommandIDs {
  /** Open the current notebook's run page on the Cellmark server in a new tab. */
  export const openRun = '@cellmark/jupyterlab:open-run';
  /** Open the Settings Editor at the Cellmark settings. */
  export const openSettings = '@cellmark/jupyterlab:open-settings';
}
