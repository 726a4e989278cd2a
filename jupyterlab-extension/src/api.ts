// The Cellmark server's ingest procedures as typed calls. The input shapes come from the
// server's own schemas (@cellmark/server/wire, types only: erased at build, nothing of the
// server is bundled), narrowed to what this extension always sends; transport and error
// mapping live in request.ts.
import type { CellInput, CellsInput, EndRunInput, OutputInput, StartRunInput, UpdateRunInput } from '@cellmark/server/wire';
import { CellmarkError, type FetchLike, healthCheck, type IServerConfig, trpcRequest } from './request';

/** Fields K of a wire input as always sent: present, never undefined. */
type Sent<T, K extends keyof T> = { [P in K]-?: Exclude<T[P], undefined> };

export interface IUser {
  id: string;
  name: string;
  email: string;
}

/**
 * `ingest.startRun` as this extension sends it: the wire's input with the fields it always
 * sets. `clientKey` is generated once per kernel session and resent on retry, so retries are
 * idempotent; `previousRunId` is the run this one continues (the kernel's run before a restart).
 */
export type IStartRunInput = Sent<StartRunInput, 'project' | 'clientKey' | 'notebookPath' | 'kernelName' | 'startedAt'> & {
  previousRunId?: NonNullable<StartRunInput['previousRunId']>;
};

export interface IRunInfo {
  runId: string;
  name: string;
  /** Path on the server, e.g. "/t/<team>/<project>/runs/<runId>". */
  url: string;
}

export type IStreamOutput = Extract<OutputInput, { output_type: 'stream' }>;
/** Always with its metadata (the wire allows it to be left out). */
export type IMimeOutput = Extract<OutputInput, { output_type: 'execute_result' | 'display_data' }> & {
  metadata: Record<string, unknown>;
};
export type IErrorOutput = Extract<OutputInput, { output_type: 'error' }>;

/** An output in nbformat shape. */
export type IOutput = IStreamOutput | IMimeOutput | IErrorOutput;

/**
 * `running` is for the kernel side's early record; the frontend sends complete
 * executions only. `interrupted` is an error whose ename is KeyboardInterrupt.
 */
export type ExecutionStatus = CellInput['status'];

export type IExecutionError = NonNullable<CellInput['error']>;

/**
 * One executed cell as `ingest.cells` takes it, every field set: `executionKey` is the
 * execute_request msg_id (the server deduplicates on it), `position` the index of the cell in
 * the notebook when the execute_request was sent.
 */
export interface ICellExecution
  extends Sent<CellInput, 'executionKey' | 'cellId' | 'executionCount' | 'position' | 'source' | 'status' | 'error' | 'startedAt'> {
  outputs: IOutput[];
  endedAt: string;
}

/**
 * What a page that is going away sends (capture/keepalive.ts): a finished execution
 * without its outputs (they follow from the outbox), or one still running (its position;
 * the kernel side finishes it). A record without `outputs` says nothing about them.
 */
export type IExecutionRecord = Omit<ICellExecution, 'outputs' | 'endedAt'> & {
  outputs?: IOutput[];
  endedAt: string | null;
};

export type RunEndStatus = EndRunInput['status'];

export type IEndRunInput = EndRunInput;

/** `ingest.updateRun`: only the fields given change; `tags` replaces the set. */
export type IUpdateRunInput = UpdateRunInput;

export interface IRunDetails {
  name: string;
  tags: string[];
  notes: string | null;
}

/** Which capture path sent an `ingest.cells` batch; the server merges the two. */
export const FRONTEND_ORIGIN = 'frontend' satisfies CellsInput['origin'];

export interface IAppendOptions {
  /** fetch keepalive: the request outlives the page (the body must stay within 64 KiB). */
  keepalive?: boolean;
}

/** The `ingest.cells` input, exactly as sent: the keepalive limit is counted on it. */
export function cellsInput(runId: string, cells: IExecutionRecord[]) {
  return { runId, origin: FRONTEND_ORIGIN, cells } satisfies CellsInput;
}

/** What the shipper needs from the server; a fake implements it in tests. */
export interface IIngestApi {
  startRun(input: IStartRunInput): Promise<IRunInfo>;
  appendCells(runId: string, cells: IExecutionRecord[], options?: IAppendOptions): Promise<{ accepted: number }>;
  endRun(input: IEndRunInput): Promise<void>;
  /** GET /healthz answered 200; false for any failure (never throws). */
  healthy(): Promise<boolean>;
}

/** The server holds at most this many cells per `ingest.cells` call. */
export const MAX_CELLS_PER_BATCH = 500;

export class CellmarkApi implements IIngestApi {
  /**
   * @param config read on every call, so a corrected token applies to the next retry.
   */
  constructor(
    private readonly config: () => IServerConfig,
    private readonly fetchImpl?: FetchLike,
  ) {}

  async whoami(): Promise<IUser> {
    const data = await this.call<{ user?: IUser }>('ingest.whoami', 'GET');
    if (!data || typeof data.user?.id !== 'string') {
      throw new CellmarkError('bad-response', 'unexpected response to ingest.whoami: no user');
    }
    return data.user;
  }

  async startRun(input: IStartRunInput): Promise<IRunInfo> {
    const data = await this.call<Partial<IRunInfo>>('ingest.startRun', 'POST', input satisfies StartRunInput);
    if (!data || typeof data.runId !== 'string' || typeof data.url !== 'string') {
      throw new CellmarkError('bad-response', 'unexpected response to ingest.startRun: no runId/url');
    }
    return { runId: data.runId, name: data.name ?? data.runId, url: data.url };
  }

  async appendCells(runId: string, cells: IExecutionRecord[], options: IAppendOptions = {}): Promise<{ accepted: number }> {
    const data = await this.call<{ accepted?: number }>('ingest.cells', 'POST', cellsInput(runId, cells), options.keepalive);
    return { accepted: data?.accepted ?? cells.length };
  }

  async updateRun(input: IUpdateRunInput): Promise<IRunDetails> {
    const data = await this.call<Partial<IRunDetails> | null>('ingest.updateRun', 'POST', input);
    return {
      name: typeof data?.name === 'string' ? data.name : (input.name ?? ''),
      tags: Array.isArray(data?.tags) ? data.tags.filter((t): t is string => typeof t === 'string') : (input.tags ?? []),
      notes: typeof data?.notes === 'string' ? data.notes : null,
    };
  }

  async endRun(input: IEndRunInput): Promise<void> {
    await this.call<unknown>('ingest.endRun', 'POST', input);
  }

  healthy(): Promise<boolean> {
    return healthCheck(this.config().serverUrl, this.fetchImpl ? { fetch: this.fetchImpl } : {});
  }

  private call<T>(procedure: string, method: 'GET' | 'POST', input?: unknown, keepalive = false): Promise<T> {
    return trpcRequest<T>(this.config(), procedure, {
      method,
      input,
      ...(keepalive ? { keepalive } : {}),
      ...(this.fetchImpl ? { fetch: this.fetchImpl } : {}),
    });
  }
}
