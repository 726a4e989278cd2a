// Builds one execution record per execute_request from raw kernel messages, as
// seen on IKernelConnection.anyMessage. Pure: no JupyterLab, no timers, no I/O,
// so it is tested with protocol messages as they come over the wire.
//
// An execution is complete when both its iopub `status: idle` and its shell
// `execute_reply` have arrived; the protocol does not order the two channels.
import type { ExecutionStatus, ICellExecution, IExecutionError, IExecutionRecord } from '../api';
import { DEFAULT_LIMITS, type IOutputLimits, OutputCollector } from './outputs';
import { asRecord, asString, asStringArray, limitText, limitTraceback } from './outputs-text';

/** The parts of a Jupyter message the recorder reads (KernelMessage.IMessage fits). */
export interface IKernelMessageLike {
  readonly channel?: string;
  readonly header: { readonly msg_id: string; readonly msg_type: string; readonly date?: string };
  readonly parent_header: { readonly msg_id?: string } | Record<string, never>;
  readonly metadata?: Readonly<Record<string, unknown>>;
  readonly content: unknown;
}

export type MessageDirection = 'send' | 'recv';

export interface IRecorderOptions {
  limits?: IOutputLimits;
  /** Cap for the recorded source; the server rejects larger ones. */
  maxSourceBytes?: number;
  now?: () => Date;
  /**
   * The cell's index in the notebook, asked when its execute_request is sent
   * (the notebook may be reordered while it runs).
   */
  positionOf?: (cellId: string | null) => number | null;
}

/** The server's CELLMARK_MAX_SOURCE_BYTES is 1 MiB; leave room for the marker. */
export const DEFAULT_MAX_SOURCE_BYTES = 1024 * 1024 - 1024;

interface IPending {
  executionKey: string;
  cellId: string | null;
  position: number | null;
  source: string;
  requestedAt: string;
  startedAt: string | null;
  executionCount: number | null;
  outputs: OutputCollector;
  reply: { status: ExecutionStatus; error: IExecutionError | null } | null;
  endedAt: string | null;
  /** When the first of idle/reply arrived, to give up waiting for the other. */
  halfDoneAt: number | null;
}

export class ExecutionRecorder {
  private readonly pending = new Map<string, IPending>();
  private readonly limits: IOutputLimits;
  private readonly maxSourceBytes: number;
  private readonly now: () => Date;
  private readonly positionOf: (cellId: string | null) => number | null;

  constructor(options: IRecorderOptions = {}) {
    this.limits = options.limits ?? DEFAULT_LIMITS;
    this.maxSourceBytes = options.maxSourceBytes ?? DEFAULT_MAX_SOURCE_BYTES;
    this.now = options.now ?? (() => new Date());
    this.positionOf = options.positionOf ?? (() => null);
  }

  /** Whether `msg` is an execution the recorder records (not a silent probe). */
  static isRecordable(msg: IKernelMessageLike): boolean {
    if (msg.header.msg_type !== 'execute_request') {
      return false;
    }
    const content = asRecord(msg.content);
    // Silent and history-less requests are the frontend's own probes
    // (completion, inspection, widgets, Cellmark's activation), not the user's executions.
    return content.silent !== true && content.store_history !== false;
  }

  /** Executions requested and not yet complete. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Feed one message; returns the executions it completed (usually none or one). */
  handle(msg: IKernelMessageLike, direction: MessageDirection): ICellExecution[] {
    const type = msg.header.msg_type;
    if (direction === 'send') {
      if (type === 'execute_request') {
        this.onExecuteRequest(msg);
      }
      return [];
    }
    const parentId = (msg.parent_header as { msg_id?: string }).msg_id;
    const entry = parentId === undefined ? undefined : this.pending.get(parentId);
    if (!entry) {
      return [];
    }
    const content = asRecord(msg.content);
    switch (type) {
      case 'status':
        if (content.execution_state === 'busy') {
          entry.startedAt ??= isoDate(msg.header.date, this.now);
        } else if (content.execution_state === 'idle') {
          entry.endedAt = isoDate(msg.header.date, this.now);
          return this.completeIfDone(entry);
        }
        return [];
      case 'execute_input':
        if (typeof content.execution_count === 'number') {
          entry.executionCount = content.execution_count;
        }
        return [];
      case 'execute_reply':
        entry.reply = replyOf(content, this.limits.maxTextBytes);
        if (entry.executionCount === null && typeof content.execution_count === 'number') {
          entry.executionCount = content.execution_count;
        }
        return this.completeIfDone(entry);
      default:
        entry.outputs.add(type, msg.content);
        return [];
    }
  }

  /**
   * The executions in flight as `running` records without outputs, for a page that is
   * going away: what only it knows is each one's position; the kernel side finishes them.
   */
  inFlightRecords(): IExecutionRecord[] {
    return [...this.pending.values()].map((entry) => ({
      executionKey: entry.executionKey,
      cellId: entry.cellId,
      executionCount: entry.executionCount,
      position: entry.position,
      source: entry.source,
      status: 'running',
      error: null,
      startedAt: entry.startedAt ?? entry.requestedAt,
      endedAt: null,
    }));
  }

  /**
   * Complete executions that got one of idle/reply but not the other within
   * `graceMs` (a lost message must not hold a record forever).
   */
  expireStale(graceMs: number): ICellExecution[] {
    const cutoff = this.now().getTime() - graceMs;
    const done: ICellExecution[] = [];
    for (const entry of [...this.pending.values()]) {
      if (entry.halfDoneAt !== null && entry.halfDoneAt <= cutoff) {
        done.push(this.finish(entry, entry.reply ?? this.guessReply(entry)));
      }
    }
    return done;
  }

  /**
   * Complete every execution still in flight, e.g. when the kernel died or was
   * restarted: those that got a reply keep it, the others count as aborted.
   */
  abandonAll(): ICellExecution[] {
    const endedAt = this.now().toISOString();
    return [...this.pending.values()].map((entry) => {
      entry.endedAt ??= endedAt;
      return this.finish(entry, entry.reply ?? { status: 'aborted', error: null });
    });
  }

  private onExecuteRequest(msg: IKernelMessageLike): void {
    if (!ExecutionRecorder.isRecordable(msg)) {
      return;
    }
    const content = asRecord(msg.content);
    const rawCellId = msg.metadata?.cellId;
    const cellId = typeof rawCellId === 'string' && rawCellId ? rawCellId : null;
    let position: number | null = null;
    try {
      position = this.positionOf(cellId);
    } catch {
      // A notebook model in an odd state must not cost the execution record.
    }
    this.pending.set(msg.header.msg_id, {
      executionKey: msg.header.msg_id,
      cellId,
      position,
      source: limitText(asString(content.code), this.maxSourceBytes),
      requestedAt: isoDate(msg.header.date, this.now),
      startedAt: null,
      executionCount: null,
      outputs: new OutputCollector(this.limits),
      reply: null,
      endedAt: null,
      halfDoneAt: null,
    });
  }

  private completeIfDone(entry: IPending): ICellExecution[] {
    if (entry.reply && entry.endedAt !== null) {
      return [this.finish(entry, entry.reply)];
    }
    entry.halfDoneAt ??= this.now().getTime();
    return [];
  }

  /** Without a reply, an error output is the best evidence of the status. */
  private guessReply(entry: IPending): NonNullable<IPending['reply']> {
    const error = entry.outputs.result().find((o) => o.output_type === 'error');
    if (error && error.output_type === 'error') {
      return {
        status: statusForError(error.ename),
        error: { ename: error.ename, evalue: error.evalue, traceback: error.traceback },
      };
    }
    return { status: 'ok', error: null };
  }

  private finish(entry: IPending, reply: NonNullable<IPending['reply']>): ICellExecution {
    this.pending.delete(entry.executionKey);
    const startedAt = entry.startedAt ?? entry.requestedAt;
    const endedAt = entry.endedAt ?? this.now().toISOString();
    return {
      executionKey: entry.executionKey,
      cellId: entry.cellId,
      executionCount: entry.executionCount,
      position: entry.position,
      source: entry.source,
      outputs: entry.outputs.result(),
      status: reply.status,
      error: reply.error,
      startedAt,
      // Kernel and browser clocks can disagree; never end before the start.
      // biome-ignore lint/complexity/useMathMinMax: ISO strings compare in time order; Math.max of strings is NaN
      endedAt: endedAt < startedAt ? startedAt : endedAt,
    };
  }
}

function replyOf(content: Record<string, unknown>, maxTextBytes: number): NonNullable<IPending['reply']> {
  if (content.status === 'error') {
    const ename = asString(content.ename);
    return {
      status: statusForError(ename),
      error: {
        ename: limitText(ename, maxTextBytes),
        evalue: limitText(asString(content.evalue), maxTextBytes),
        traceback: limitTraceback(asStringArray(content.traceback), maxTextBytes),
      },
    };
  }
  if (content.status === 'aborted') {
    return { status: 'aborted', error: null };
  }
  return { status: 'ok', error: null };
}

/** An execution stopped by the user (Kernel → Interrupt) is not a failure of the code. */
export function statusForError(ename: string): ExecutionStatus {
  return ename === 'KeyboardInterrupt' ? 'interrupted' : 'error';
}

/** Message dates as ISO 8601 UTC; a missing or odd date falls back to now. */
function isoDate(value: string | undefined, now: () => Date): string {
  if (value) {
    const parsed = new Date(value);
    if (!Number.isNaN(parsed.getTime())) {
      return parsed.toISOString();
    }
  }
  return now().toISOString();
}
