// An in-memory Cellmark ingest API that records calls and can be told to fail.
import type { IAppendOptions, ICellExecution, IEndRunInput, IExecutionRecord, IIngestApi, IRunInfo, IStartRunInput } from '../api';
import { CellmarkError, errorForStatus } from '../request';

export type Call =
  | { op: 'startRun'; input: IStartRunInput }
  | { op: 'cells'; runId: string; cells: IExecutionRecord[]; keepalive?: boolean }
  | { op: 'endRun'; input: IEndRunInput };

/** A GET /healthz probe; failWith decides it too, as a server that is down fails both. */
export type HealthCall = { op: 'health' };

type Recorded = Call & { failed?: boolean };

export class FakeIngestApi implements IIngestApi {
  readonly calls: Recorded[] = [];
  /** GET /healthz probes, kept apart from `calls`: they carry no data. */
  healthChecks = 0;
  /** Decides per call whether it fails; return null to succeed. */
  failWith: (call: Call | HealthCall) => CellmarkError | null = () => null;
  private runs = 0;
  private readonly byKey = new Map<string, IRunInfo>();

  /** Idempotent on the client key, as the server is. */
  async startRun(input: IStartRunInput): Promise<IRunInfo> {
    this.check({ op: 'startRun', input });
    const known = this.byKey.get(input.clientKey);
    if (known) {
      return known;
    }
    this.runs += 1;
    const runId = `00000000-0000-4000-8000-${String(this.runs).padStart(12, '0')}`;
    const run = { runId, name: `run-${this.runs}`, url: `/t/team/proj/runs/${runId}` };
    this.byKey.set(input.clientKey, run);
    return run;
  }

  async appendCells(runId: string, cells: IExecutionRecord[], options: IAppendOptions = {}): Promise<{ accepted: number }> {
    this.check({ op: 'cells', runId, cells, ...(options.keepalive ? { keepalive: true } : {}) });
    return { accepted: cells.length };
  }

  async endRun(input: IEndRunInput): Promise<void> {
    this.check({ op: 'endRun', input });
  }

  /** Answers as the server would: failWith decides, as for every other request. */
  async healthy(): Promise<boolean> {
    this.healthChecks += 1;
    return this.failWith({ op: 'health' }) === null;
  }

  /** Cells the server accepted, in order. */
  acceptedKeys(): string[] {
    return this.calls.flatMap((c) => (c.op === 'cells' && !c.failed ? c.cells.map((x) => x.executionKey) : []));
  }

  private check(call: Call): void {
    const error = this.failWith(call);
    this.calls.push(Object.assign(call, { failed: error !== null }));
    if (error) {
      throw error;
    }
  }
}

export const unreachable = () => new CellmarkError('unreachable', 'Cellmark server unreachable at http://cellmark.test');
export const httpError = (status: number, message = 'nope') => errorForStatus(status, message);

export function cell(key: string, overrides: Partial<ICellExecution> = {}): ICellExecution {
  return {
    executionKey: key,
    cellId: null,
    executionCount: 1,
    source: 'x = 1',
    outputs: [],
    status: 'ok',
    error: null,
    startedAt: '2025-03-04T10:00:00.000Z',
    endedAt: '2025-03-04T10:00:01.000Z',
    position: null,
    ...overrides,
  };
}
