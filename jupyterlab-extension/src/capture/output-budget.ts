// Keeps one execution's outputs within the server's per-execution limit by
// replacing the biggest values (an image, a huge HTML table, a long stream) with
// a short note that says what was dropped. Pure functions over nbformat outputs.
import type { IOutput } from '../api';
import { byteLength, limitTraceback, utf8Prefix } from './outputs-text';

/** Values smaller than this are never worth replacing by a note. */
export const MIN_DROPPABLE_BYTES = 8 * 1024;
/** What is left of a stream or traceback whose value was dropped. */
export const KEPT_HEAD_BYTES = 2 * 1024;

/** UTF-8 bytes of a value as JSON, the way the server measures outputs. */
export function jsonBytes(value: unknown): number {
  return byteLength(JSON.stringify(value) ?? '');
}

/** A value that can be dropped: one MIME entry, a stream's text or a traceback. */
export interface IValueRef {
  index: number;
  /** The MIME type, or "stream"/"traceback". */
  key: string;
  bytes: number;
}

/** The biggest droppable value of the outputs, or null when none is worth it. */
export function largestValue(outputs: readonly IOutput[]): IValueRef | null {
  let best: IValueRef | null = null;
  const consider = (index: number, key: string, bytes: number): void => {
    if (bytes >= MIN_DROPPABLE_BYTES && (best === null || bytes > best.bytes)) {
      best = { index, key, bytes };
    }
  };
  outputs.forEach((output, index) => {
    switch (output.output_type) {
      case 'stream':
        consider(index, 'stream', jsonBytes(output.text));
        break;
      case 'error':
        consider(index, 'traceback', jsonBytes(output.traceback));
        break;
      default:
        for (const [mime, value] of Object.entries(output.data)) {
          consider(index, mime, jsonBytes(value));
        }
    }
  });
  return best;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) {
    return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  }
  if (bytes >= 1024) {
    return `${(bytes / 1024).toFixed(1)} KiB`;
  }
  return `${bytes} bytes`;
}

export function droppedNote(what: string, bytes: number, limitBytes: number): string {
  return `[Cellmark: ${what} (${formatBytes(bytes)}) not recorded: this execution's outputs are over the ${formatBytes(limitBytes)} limit]`;
}

/**
 * Replace one value in place by a note. A MIME entry goes and `text/plain` says
 * so (keeping the text/plain that was there); a stream or traceback keeps its
 * head (the collector appends its marker). Returns the bytes a stream lost.
 */
export function dropValue(output: IOutput, ref: IValueRef, limitBytes: number): number {
  const note = droppedNote(ref.key === 'traceback' ? 'the traceback' : ref.key, ref.bytes, limitBytes);
  if (output.output_type === 'stream') {
    // The collector marks the cut (and counts what still arrives) itself.
    const kept = utf8Prefix(output.text, KEPT_HEAD_BYTES);
    const omitted = byteLength(output.text) - byteLength(kept);
    output.text = kept;
    return omitted;
  }
  if (output.output_type === 'error') {
    output.traceback = [...limitTraceback(output.traceback, KEPT_HEAD_BYTES), note];
    return 0;
  }
  const data = { ...output.data };
  delete data[ref.key];
  const plain = data['text/plain'];
  data['text/plain'] = typeof plain === 'string' && plain ? `${plain}\n${note}` : note;
  output.data = data;
  return 0;
}
