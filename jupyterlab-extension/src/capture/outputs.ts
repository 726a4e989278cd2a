// Turns iopub output messages into nbformat outputs small enough to ship:
// text MIME types are kept (each capped), binary payloads are replaced by a note,
// consecutive stream chunks are merged the way notebooks store them.
import type { IErrorOutput, IMimeOutput, IOutput, IStreamOutput } from '../api';

export interface IOutputLimits {
  /** Cap for one text value (a stream, one MIME entry, a traceback). */
  maxTextBytes: number;
  /** Cap for all outputs of one execution together; later outputs are dropped. */
  maxExecutionBytes: number;
}

export const DEFAULT_LIMITS: IOutputLimits = {
  maxTextBytes: 256 * 1024,
  maxExecutionBytes: 2 * 1024 * 1024
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function byteLength(text: string): number {
  return encoder.encode(text).length;
}

export function truncationMarker(omittedBytes: number): string {
  return `\n[… ${omittedBytes} more bytes not recorded by Cellmark]`;
}

/** Cut `text` to at most `maxBytes` of UTF-8 (on a character boundary) plus a marker. */
export function limitText(text: string, maxBytes: number): string {
  const bytes = encoder.encode(text);
  if (bytes.length <= maxBytes) {
    return text;
  }
  // A cut through a multi-byte character decodes to U+FFFD: drop it.
  const kept = decoder.decode(bytes.subarray(0, maxBytes)).replace(/\uFFFD+$/, '');
  return kept + truncationMarker(bytes.length - byteLength(kept));
}

/** MIME types whose payload is text (or JSON) rather than base64 binary. */
export function isTextMime(mime: string): boolean {
  return (
    mime.startsWith('text/') ||
    mime.endsWith('+json') ||
    mime.endsWith('+xml') ||
    mime === 'application/json' ||
    mime === 'application/javascript' ||
    mime === 'application/xml'
  );
}

/**
 * Keep text MIME entries (capped), drop binary ones. When something was dropped
 * and no text/plain remains, text/plain becomes a note such as "<image/png omitted>".
 */
export function filterMimeBundle(
  data: Record<string, unknown>,
  maxTextBytes: number
): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  const omitted: string[] = [];
  for (const [mime, value] of Object.entries(data)) {
    if (!isTextMime(mime)) {
      omitted.push(`<${mime} omitted>`);
      continue;
    }
    if (typeof value === 'string') {
      kept[mime] = limitText(value, maxTextBytes);
    } else if (Array.isArray(value) && value.every(line => typeof line === 'string')) {
      // nbformat allows multi-line strings as arrays of lines.
      kept[mime] = limitText(value.join(''), maxTextBytes);
    } else {
      const size = byteLength(JSON.stringify(value) ?? '');
      if (size <= maxTextBytes) {
        kept[mime] = value;
      } else {
        omitted.push(`<${mime} omitted: ${size} bytes>`);
      }
    }
  }
  if (omitted.length > 0 && kept['text/plain'] === undefined) {
    kept['text/plain'] = omitted.join('\n');
  }
  return kept;
}

/** Collapse carriage-return overwrites ("progress 10%\rprogress 20%") per line. */
export function applyCarriageReturns(text: string): string {
  if (!text.includes('\r')) {
    return text;
  }
  return text
    .replace(/\r+\n/g, '\n')
    .split('\n')
    .map(line => {
      const segments = line.split('\r');
      const last = segments.length - 1;
      // A trailing "\r" must survive: the next chunk will overwrite this line.
      const trailing = segments[last] === '' && last > 0;
      const parts = trailing ? segments.slice(0, last) : segments;
      const merged = parts.reduce((acc, seg) => seg + acc.slice(seg.length), '');
      return trailing ? `${merged}\r` : merged;
    })
    .join('\n');
}

/** The error output for an `error` message, traceback capped as a whole. */
export function errorOutput(content: Record<string, unknown>, maxTextBytes: number): IErrorOutput {
  return {
    output_type: 'error',
    ename: limitText(asString(content.ename), maxTextBytes),
    evalue: limitText(asString(content.evalue), maxTextBytes),
    traceback: limitTraceback(asStringArray(content.traceback), maxTextBytes)
  };
}

export function limitTraceback(frames: string[], maxBytes: number): string[] {
  const out: string[] = [];
  let used = 0;
  for (const [i, frame] of frames.entries()) {
    const size = byteLength(frame);
    if (used + size > maxBytes) {
      const rest = frames.slice(i).reduce((n, f) => n + byteLength(f), 0);
      out.push(`[… ${frames.length - i} more frames, ${rest} bytes, not recorded by Cellmark]`);
      break;
    }
    out.push(frame);
    used += size;
  }
  return out;
}

export function asString(value: unknown): string {
  if (typeof value === 'string') {
    return value;
  }
  if (Array.isArray(value)) {
    return value.map(asString).join('');
  }
  return value === undefined || value === null ? '' : String(value);
}

export function asStringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.map(asString) : [];
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/**
 * The outputs of one execution as they arrive. Enforces both caps without ever
 * holding more than about the cap in memory, whatever the kernel prints.
 */
export class OutputCollector {
  private readonly outputs: IOutput[] = [];
  /** Bytes omitted from each stream output, by index. */
  private readonly streamOmitted = new Map<number, number>();
  private readonly streamBytes = new Map<number, number>();
  private readonly displayIds = new Map<string, number[]>();
  private bytes = 0;
  private droppedOutputs = 0;
  private clearOnNext = false;

  constructor(private readonly limits: IOutputLimits = DEFAULT_LIMITS) {}

  /** Handle one iopub message type that carries or changes outputs. */
  add(msgType: string, rawContent: unknown): void {
    const content = asRecord(rawContent);
    switch (msgType) {
      case 'stream':
        this.flushPendingClear();
        this.addStream(content.name === 'stderr' ? 'stderr' : 'stdout', asString(content.text));
        break;
      case 'execute_result':
      case 'display_data': {
        this.flushPendingClear();
        const output: IMimeOutput = {
          output_type: msgType,
          data: filterMimeBundle(asRecord(content.data), this.limits.maxTextBytes),
          metadata: asRecord(content.metadata)
        };
        if (msgType === 'execute_result') {
          output.execution_count =
            typeof content.execution_count === 'number' ? content.execution_count : null;
        }
        const index = this.push(output);
        const displayId = asRecord(content.transient).display_id;
        if (index !== null && typeof displayId === 'string') {
          this.displayIds.set(displayId, [...(this.displayIds.get(displayId) ?? []), index]);
        }
        break;
      }
      case 'update_display_data': {
        // Only displays made by this same execution can be updated here; older
        // executions have already been shipped.
        const displayId = asRecord(content.transient).display_id;
        const targets = typeof displayId === 'string' ? this.displayIds.get(displayId) : undefined;
        for (const index of targets ?? []) {
          const target = this.outputs[index];
          if (target && target.output_type !== 'stream' && target.output_type !== 'error') {
            const before = byteLength(JSON.stringify(target.data));
            target.data = filterMimeBundle(asRecord(content.data), this.limits.maxTextBytes);
            target.metadata = asRecord(content.metadata);
            this.bytes += byteLength(JSON.stringify(target.data)) - before;
          }
        }
        break;
      }
      case 'error':
        this.flushPendingClear();
        this.push(errorOutput(content, this.limits.maxTextBytes));
        break;
      case 'clear_output':
        if (content.wait === true) {
          this.clearOnNext = true;
        } else {
          this.clear();
        }
        break;
      default:
        break;
    }
  }

  /** The outputs in nbformat shape, with markers where text was cut. */
  result(): IOutput[] {
    const result = this.outputs.map((output, index) => {
      const omitted = this.streamOmitted.get(index);
      if (output.output_type === 'stream' && omitted) {
        return { ...output, text: output.text + truncationMarker(omitted) };
      }
      return output;
    });
    if (this.droppedOutputs > 0) {
      result.push({
        output_type: 'display_data',
        data: {
          'text/plain': `<${this.droppedOutputs} more outputs omitted: over ${this.limits.maxExecutionBytes} bytes for one execution>`
        },
        metadata: {}
      });
    }
    return result;
  }

  private addStream(name: 'stdout' | 'stderr', text: string): void {
    const lastIndex = this.outputs.length - 1;
    const last = this.outputs[lastIndex];
    if (last && last.output_type === 'stream' && last.name === name) {
      this.appendToStream(last, lastIndex, text);
      return;
    }
    const output: IStreamOutput = { output_type: 'stream', name, text: '' };
    const index = this.push(output);
    if (index !== null) {
      this.appendToStream(output, index, text);
    }
  }

  private appendToStream(output: IStreamOutput, index: number, chunk: string): void {
    const omitted = this.streamOmitted.get(index);
    if (omitted !== undefined) {
      this.streamOmitted.set(index, omitted + byteLength(chunk));
      return;
    }
    // Only the last line can be rewritten by a "\r" in the new chunk.
    const cut = output.text.lastIndexOf('\n') + 1;
    const head = output.text.slice(0, cut);
    const oldTail = output.text.slice(cut);
    const newTail = applyCarriageReturns(oldTail + chunk);
    // Byte sizes are tracked incrementally: re-encoding the whole text on every
    // chunk would be quadratic for a loop that prints line by line.
    const currentBytes = this.streamBytes.get(index) ?? 0;
    const delta = byteLength(newTail) - byteLength(oldTail);
    const streamBytes = currentBytes + delta;
    const budget = Math.min(
      this.limits.maxTextBytes,
      this.limits.maxExecutionBytes - this.bytes + currentBytes
    );
    if (streamBytes <= budget) {
      output.text = head + newTail;
      this.streamBytes.set(index, streamBytes);
      this.bytes += delta;
      return;
    }
    const kept = encoder.encode(head + newTail).subarray(0, Math.max(0, budget));
    const keptText = decoder.decode(kept).replace(/\uFFFD+$/, '');
    const keptBytes = byteLength(keptText);
    this.bytes += keptBytes - currentBytes;
    output.text = keptText;
    this.streamBytes.set(index, keptBytes);
    this.streamOmitted.set(index, streamBytes - keptBytes);
  }

  /** Append an output if the execution budget allows; returns its index. */
  private push(output: IOutput): number | null {
    const size = byteLength(JSON.stringify(output));
    if (this.bytes + size > this.limits.maxExecutionBytes) {
      this.droppedOutputs += 1;
      return null;
    }
    this.bytes += size;
    this.outputs.push(output);
    return this.outputs.length - 1;
  }

  private flushPendingClear(): void {
    if (this.clearOnNext) {
      this.clearOnNext = false;
      this.clear();
    }
  }

  private clear(): void {
    this.outputs.length = 0;
    this.streamOmitted.clear();
    this.streamBytes.clear();
    this.displayIds.clear();
    this.bytes = 0;
    this.droppedOutputs = 0;
  }
}
