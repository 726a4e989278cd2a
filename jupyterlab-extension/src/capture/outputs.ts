// Turns iopub output messages into the nbformat outputs of one execution: rich
// MIME bundles kept whole (images as the base64 strings nbformat uses; the
// server moves binary and large values into blobs), consecutive stream chunks
// merged the way notebooks store them, and the whole within the server's
// per-execution limit: over it, the biggest values become notes.
import type { IErrorOutput, IMimeOutput, IOutput, IStreamOutput } from '../api';
import { dropValue, formatBytes, jsonBytes, largestValue } from './output-budget';
import { applyCarriageReturns, asRecord, asString, asStringArray, byteLength, limitText, limitTraceback, truncationMarker, utf8Prefix } from './outputs-text';

export {
  applyCarriageReturns,
  byteLength,
  limitText,
  limitTraceback,
} from './outputs-text';

export interface IOutputLimits {
  /** Cap for one stream, evalue or traceback; bounds memory for a chatty loop. */
  maxTextBytes: number;
  /** All outputs of one execution as JSON (the server rejects more: CELLMARK_MAX_OUTPUT_BYTES). */
  maxExecutionBytes: number;
  /** At most this many outputs per execution; later ones are counted in a note. */
  maxOutputs: number;
}

export const DEFAULT_LIMITS: IOutputLimits = {
  maxTextBytes: 1024 * 1024,
  maxExecutionBytes: 8 * 1024 * 1024,
  maxOutputs: 2000,
};

/** Room kept for the closing "N more outputs" note and the array's brackets. */
const RESERVE_BYTES = 1024;
/** Room for the marker a cut stream gets in result(). */
const STREAM_MARKER_BYTES = 64;

/**
 * A MIME bundle as nbformat stores it, with multi-line string arrays joined.
 * Values are kept as they are: binary types are base64 strings already.
 */
export function normalizeMimeBundle(data: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [mime, value] of Object.entries(data)) {
    out[mime] = Array.isArray(value) && value.every((line) => typeof line === 'string') ? value.join('') : value;
  }
  return out;
}

/** The error output for an `error` message, traceback capped as a whole. */
export function errorOutput(content: Record<string, unknown>, maxTextBytes: number): IErrorOutput {
  return {
    output_type: 'error',
    ename: limitText(asString(content.ename), maxTextBytes),
    evalue: limitText(asString(content.evalue), maxTextBytes),
    traceback: limitTraceback(asStringArray(content.traceback), maxTextBytes),
  };
}

/**
 * The outputs of one execution as they arrive. Enforces the caps as it goes,
 * so it never holds much more than the limit, whatever the kernel sends.
 */
export class OutputCollector {
  private readonly outputs: IOutput[] = [];
  /** JSON bytes of each output (plus its comma). */
  private readonly sizes: number[] = [];
  private total = 0;
  /** Bytes cut from each stream output, by index. */
  private readonly streamOmitted = new Map<number, number>();
  /** UTF-8 bytes of each stream's text, by index. */
  private readonly streamBytes = new Map<number, number>();
  private readonly displayIds = new Map<string, number[]>();
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
          data: normalizeMimeBundle(asRecord(content.data)),
          metadata: asRecord(content.metadata),
        };
        if (msgType === 'execute_result') {
          output.execution_count = typeof content.execution_count === 'number' ? content.execution_count : null;
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
            target.data = normalizeMimeBundle(asRecord(content.data));
            target.metadata = asRecord(content.metadata);
            this.resize(index);
          }
        }
        this.enforceBudget();
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

  /** The outputs in nbformat shape, with markers where something was cut. */
  result(): IOutput[] {
    const result = this.outputs.map((output, index): IOutput => {
      const omitted = this.streamOmitted.get(index);
      if (output.output_type === 'stream' && omitted) {
        return { ...output, text: output.text + truncationMarker(omitted) };
      }
      return output.output_type === 'stream' ? { ...output } : output;
    });
    if (this.droppedOutputs > 0) {
      result.push({
        output_type: 'display_data',
        data: {
          'text/plain': `[Cellmark: ${this.droppedOutputs} more outputs not recorded: over ${this.limits.maxOutputs} outputs or ${formatBytes(this.limits.maxExecutionBytes)} for one execution]`,
        },
        metadata: {},
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
    // Sizes are tracked incrementally: re-encoding the whole text on every
    // chunk would be quadratic for a loop that prints line by line.
    const textBytes = (this.streamBytes.get(index) ?? 0) + byteLength(newTail) - byteLength(oldTail);
    if (textBytes <= this.limits.maxTextBytes) {
      output.text = head + newTail;
      this.streamBytes.set(index, textBytes);
      const delta = jsonBytes(newTail) - jsonBytes(oldTail);
      this.sizes[index] = (this.sizes[index] ?? 0) + delta;
      this.total += delta;
    } else {
      const kept = utf8Prefix(head + newTail, this.limits.maxTextBytes);
      const keptBytes = byteLength(kept);
      output.text = kept;
      this.streamBytes.set(index, keptBytes);
      this.streamOmitted.set(index, textBytes - keptBytes);
      this.resize(index);
    }
    this.enforceBudget();
  }

  /** Append an output if the limits allow; returns its index. */
  private push(output: IOutput): number | null {
    if (this.outputs.length >= this.limits.maxOutputs) {
      this.droppedOutputs += 1;
      return null;
    }
    this.outputs.push(output);
    this.sizes.push(0);
    const index = this.outputs.length - 1;
    this.resize(index);
    this.enforceBudget();
    return index < this.outputs.length ? index : null;
  }

  private resize(index: number): void {
    const output = this.outputs[index];
    if (!output) {
      return;
    }
    const marker = this.streamOmitted.has(index) ? STREAM_MARKER_BYTES : 0;
    const size = jsonBytes(output) + 1 + marker;
    this.total += size - (this.sizes[index] ?? 0);
    this.sizes[index] = size;
  }

  /**
   * Over the execution limit, replace the biggest value by a note, again and
   * again; when only small values are left, drop the latest outputs.
   */
  private enforceBudget(): void {
    const max = this.limits.maxExecutionBytes;
    const budget = max - Math.min(RESERVE_BYTES, Math.floor(max / 8));
    while (this.total > budget && this.outputs.length > 0) {
      const ref = largestValue(this.outputs);
      const output = ref ? this.outputs[ref.index] : undefined;
      if (ref && output) {
        const cut = dropValue(output, ref, this.limits.maxExecutionBytes);
        if (output.output_type === 'stream') {
          this.streamOmitted.set(ref.index, (this.streamOmitted.get(ref.index) ?? 0) + cut);
          this.streamBytes.set(ref.index, byteLength(output.text));
        }
        this.resize(ref.index);
        continue;
      }
      this.dropLast();
    }
  }

  private dropLast(): void {
    const index = this.outputs.length - 1;
    this.outputs.pop();
    this.total -= this.sizes.pop() ?? 0;
    this.streamOmitted.delete(index);
    this.streamBytes.delete(index);
    for (const [id, indexes] of this.displayIds) {
      this.displayIds.set(
        id,
        indexes.filter((i) => i !== index),
      );
    }
    this.droppedOutputs += 1;
  }

  private flushPendingClear(): void {
    if (this.clearOnNext) {
      this.clearOnNext = false;
      this.clear();
    }
  }

  private clear(): void {
    this.outputs.length = 0;
    this.sizes.length = 0;
    this.total = 0;
    this.streamOmitted.clear();
    this.streamBytes.clear();
    this.displayIds.clear();
    this.droppedOutputs = 0;
  }
}
