// Per-notebook pause: the notebook's metadata `cellmark: {"capture": false}`
// keeps Cellmark from recording it, whoever opens it; `cellmark: {"autoConfig": false}`
// keeps the kernel side from taking literal assignments as config. Pure logic on the
// metadata value; other keys under `cellmark` are kept.

export const METADATA_KEY = 'cellmark';

/** Whether the metadata value under `cellmark` pauses capture. */
export function isCapturePaused(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && (value as Record<string, unknown>).capture === false;
}

/**
 * The new value for the `cellmark` metadata key, or undefined to remove the key
 * (resuming leaves no trace in a notebook that had none).
 */
export function withCapturePaused(value: unknown, paused: boolean): Record<string, unknown> | undefined {
  const current = typeof value === 'object' && value !== null && !Array.isArray(value) ? { ...(value as Record<string, unknown>) } : {};
  if (paused) {
    return { ...current, capture: false };
  }
  delete current.capture;
  return Object.keys(current).length > 0 ? current : undefined;
}

/** The parts of INotebookModel the pause uses. */
export interface IMetadataModel {
  getMetadata(key: string): unknown;
  setMetadata(key: string, value: unknown): void;
  deleteMetadata(key: string): void;
}

/** Whether the metadata value under `cellmark` turns automatic config off. */
export function isAutoConfigOff(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && (value as Record<string, unknown>).autoConfig === false;
}

export function readAutoConfig(model: IMetadataModel): boolean {
  return !isAutoConfigOff(model.getMetadata(METADATA_KEY));
}

export function readPaused(model: IMetadataModel): boolean {
  return isCapturePaused(model.getMetadata(METADATA_KEY));
}

/** Pause or resume capture for the notebook of `model`. */
export function setPaused(model: IMetadataModel, paused: boolean): void {
  const next = withCapturePaused(model.getMetadata(METADATA_KEY), paused);
  if (next === undefined) {
    model.deleteMetadata(METADATA_KEY);
  } else {
    model.setMetadata(METADATA_KEY, next);
  }
}
