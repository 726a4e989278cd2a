// What a page that is going away (tab closed, laptop lid shut, another tab chosen) can still
// send. A `fetch(…, { keepalive: true })` outlives its page, but the browser holds at most
// 64 KiB of such bodies in flight per page (the Fetch standard's inflight keepalive bytes;
// Chromium rejects a request past it). So this picks what matters most within that: first
// every execution without its outputs — its position and the notebook's view of its status,
// which only this page knows (the kernel side sends source, timing and outputs itself) —
// then whole records, oldest first, as far as the rest allows. Everything stays in the
// outbox, which sends it all the next time a page of this Lab runs. Pure functions.
import { cellsInput, type ICellExecution, type IExecutionRecord } from '../api';

export const KEEPALIVE_BODY_BYTES = 64 * 1024;

/** One execution a hidden page may send: the whole record when small enough, else slim. */
export interface IKeepaliveCandidate {
  executionKey: string;
  /** Without outputs; null when even that is over the limit (a huge source). */
  slim: IExecutionRecord | null;
  /** The whole record; null when it could never fit. */
  full: ICellExecution | null;
}

export interface IKeepaliveRun {
  clientKey: string;
  runId: string;
  /** Oldest first. */
  candidates: IKeepaliveCandidate[];
}

export interface IKeepaliveBatch {
  clientKey: string;
  runId: string;
  cells: IExecutionRecord[];
  /** UTF-8 bytes of the request body. */
  bytes: number;
  /** `${executionKey}:slim|full` of what it carries, for sentKey(). */
  sent: string[];
}

const encoder = new TextEncoder();

export function jsonBytes(value: unknown): number {
  return encoder.encode(JSON.stringify(value)).length;
}

export const sentKey = (executionKey: string, form: 'slim' | 'full') => `${executionKey}:${form}`;

/** The record minus its outputs. */
export function slimRecord(cell: ICellExecution | IExecutionRecord): IExecutionRecord {
  const { outputs: _, ...slim } = cell;
  return slim;
}

/**
 * A rough JSON size that stops counting past `cap`: tells whether a record can ever fit
 * without serialising an 8 MiB output on the page's hot path.
 */
export function roughJsonSize(value: unknown, cap: number): number {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && size <= cap) {
    const item = stack.pop();
    if (typeof item === 'string') {
      size += item.length + 2;
    } else if (Array.isArray(item)) {
      size += 2 + item.length;
      stack.push(...item);
    } else if (item !== null && typeof item === 'object') {
      for (const [key, child] of Object.entries(item)) {
        size += key.length + 4;
        stack.push(child);
      }
    } else {
      size += 8;
    }
  }
  return size;
}

/** What of a recorded execution a hidden page could send. */
export function candidateOf(cell: ICellExecution, limit = KEEPALIVE_BODY_BYTES): IKeepaliveCandidate {
  const slim = slimRecord(cell);
  return {
    executionKey: cell.executionKey,
    slim: roughJsonSize(slim, limit) <= limit ? slim : null,
    full: roughJsonSize(cell.outputs, limit) <= limit ? cell : null,
  };
}

/**
 * Requests (one per run) within `budget` bytes of bodies in all: slim records of every
 * candidate first, then whole ones, oldest first. `sent` holds what earlier requests of this
 * hidden period carried (see sentKey): never sent twice, a slim one may still go whole.
 */
export function selectForKeepalive(runs: IKeepaliveRun[], budget: number, sent: ReadonlySet<string>): IKeepaliveBatch[] {
  interface IPick {
    run: IKeepaliveRun;
    chosen: Map<string, { record: IExecutionRecord; form: 'slim' | 'full'; bytes: number }>;
    envelope: number;
  }
  const picks: IPick[] = runs.map((run) => ({ run, chosen: new Map(), envelope: jsonBytes(cellsInput(run.runId, [])) }));
  let left = budget;
  // a record costs its JSON and a comma; the first one of a run also the request around it
  const cost = (pick: IPick, bytes: number) => bytes + (pick.chosen.size === 0 ? pick.envelope : 1);

  for (const pick of picks) {
    for (const c of pick.run.candidates) {
      if (!c.slim || sent.has(sentKey(c.executionKey, 'full')) || sent.has(sentKey(c.executionKey, 'slim'))) {
        continue;
      }
      const bytes = jsonBytes(c.slim);
      if (cost(pick, bytes) <= left) {
        left -= cost(pick, bytes);
        pick.chosen.set(c.executionKey, { record: c.slim, form: 'slim', bytes });
      }
    }
  }
  for (const pick of picks) {
    for (const c of pick.run.candidates) {
      if (!c.full || sent.has(sentKey(c.executionKey, 'full'))) {
        continue;
      }
      const bytes = jsonBytes(c.full);
      const before = pick.chosen.get(c.executionKey);
      const extra = before ? bytes - before.bytes : cost(pick, bytes);
      if (extra <= left) {
        left -= extra;
        pick.chosen.set(c.executionKey, { record: c.full, form: 'full', bytes });
      }
    }
  }
  return picks
    .filter((pick) => pick.chosen.size > 0)
    .map((pick) => {
      const chosen = pick.run.candidates.flatMap((c) => {
        const x = pick.chosen.get(c.executionKey);
        return x ? [{ ...x, key: sentKey(c.executionKey, x.form) }] : [];
      });
      const cells = chosen.map((x) => x.record);
      return {
        clientKey: pick.run.clientKey,
        runId: pick.run.runId,
        cells,
        bytes: jsonBytes(cellsInput(pick.run.runId, cells)),
        sent: chosen.map((x) => x.key),
      };
    });
}
