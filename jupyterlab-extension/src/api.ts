// The Cellmark server's ingest procedures as typed calls. The wire shapes here are
// the server contract; transport and error mapping live in request.ts.
import { CellmarkError, type FetchLike, healthCheck, type IServerConfig, trpcRequest } from './request';

export interface IUser {
  id: string;
  name: string;
  email: string;
}

export interface IStartRunInput {
  /** "team-slug/project-slug" */
  project: string;
  /** Generated once per kernel session and resent on retry, so retries are idempotent. */
  clientKey: string;
  notebookPath: string;
  kernelName: string | null;
  startedAt: string;
  /** The run this one continues: the run the kernel had before a restart. */
  previousRunId?: string;
}

export interface IRunInfo {
  runId: string;
  name: string;
  /** Path on the server, e.g. "/t/<team>/<project>/runs/<runId>". */
  url: string;
}

export interface IStreamOutput {
  output_type: 'stream';
  name: 'stdout' | 'stderr';
  text: string;
}

export interface IMimeOutput {
  output_type: 'execute_result' | 'display_data';
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  execution_count?: number | null;
}

export interface IErrorOutput {
  output_type: 'error';
  ename: string;
  evalue: string;
  traceback: string[];
}

/** An output in nbformat shape. */
export type IOutput = IStreamOutput | IMimeOutput | IErrorOutput;

/**
 * `running` is for the kernel side's early record; the frontend sends complete
 * executions only. `interrupted` is an error whose ename is KeyboardInterrupt.
 */
export type ExecutionStatus = 'running' | 'ok' | 'error' | 'aborted' | 'interrupted';

export interface IExecutionError {
  ename: string;
  evalue: string;
  traceback: string[];
}

/** One executed cell as `ingest.cells` takes it. */
export interface ICellExecution {
  /** The execute_request msg_id; the server deduplicates on it. */
  executionKey: string;
  cellId: string | null;
  executionCount: number | null;
  /** Index of the cell in the notebook when the execute_request was sent. */
  position: number | null;
  source: string;
  outputs: IOutput[];
  status: ExecutionStatus;
  error: IExecutionError | null;
  startedAt: string;
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

export type RunEndStatus = 'finished' | 'crashed';

export interface IEndRunInput {
  runId: string;
  status: RunEndStatus;
  endedAt: string;
}

/** `ingest.updateRun`: only the fields given change; `tags` replaces the set. */
export interface IUpdateRunInput {
  runId: string;
  name?: string;
  tags?: string[];
  addTags?: string[];
  removeTags?: string[];
  notes?: string;
}

export interface IRunDetails {
  name: string;
  tags: string[];
  notes: string | null;
}

/** Which capture path sent an `ingest.cells` batch; the server merges the two. */
export const FRONTEND_ORIGIN = 'frontend';

export interface IAppendOptions {
  /** fetch keepalive: the request outlives the page (the body must stay within 64 KiB). */
  keepalive?: boolean;
}

/** The `ingest.cells` input, exactly as sent: the keepalive limit is counted on it. */
export function cellsInput(runId: string, cells: IExecutionRecord[]) {
  return { runId, origin: FRONTEND_ORIGIN, cells };
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
    private readonly fetchImpl?: FetchLike
  ) {}

  async whoami(): Promise<IUser> {
    const data = await this.call<{ user?: IUser }>('ingest.whoami', 'GET');
    if (!data || typeof data.user?.id !== 'string') {
      throw new CellmarkError('bad-response', 'unexpected response to ingest.whoami: no user');
    }
    return data.user;
  }

  async startRun(input: IStartRunInput): Promise<IRunInfo> {
    const data = await this.call<Partial<IRunInfo>>('ingest.startRun', 'POST', input);
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
      notes: typeof data?.notes === 'string' ? data.notes : null
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
      ...(this.fetchImpl ? { fetch: this.fetchImpl } : {})
    });
  }
}
