// A simulated notebook: one run, metric points at HZ steps a second (one ingest.metrics call
// per step, a few keys each) and an execution every few seconds, sent twice as the two
// capture paths send it (a kernel-side `running` record, then the kernel's and the frontend's
// complete records under the same execution key, so the server merges them; some outputs,
// now and then an image that becomes a blob). Like the real clients it keeps what is not
// acknowledged in an outbox (one call in flight per queue) and retries it; the ledger is what
// the server acknowledged, which must all be stored, once, at the end.
import { randomBytes, randomUUID } from 'node:crypto';
import { type Api, type Auth, FinalError } from './api.ts';

type Origin = 'kernel' | 'frontend';
interface Point {
  key: string;
  step: number;
  value: number;
  time: string;
}

export interface NotebookOptions {
  hz: number;
  keys: number;
  /** mean ms between executions */
  cellEveryMs: number;
  /** every n-th execution carries an image */
  imageEvery: number;
}

/** Queue with at most one call in flight; `send` takes what is pending and returns when acknowledged. */
class Outbox<T> {
  pending: T[] = [];
  private busy = false;
  constructor(
    private readonly send: (items: T[]) => Promise<void>,
    private readonly max: number,
  ) {}
  push(item: T) {
    this.pending.push(item);
    void this.pump();
  }
  get idle() {
    return !this.busy && this.pending.length === 0;
  }
  async pump() {
    if (this.busy || !this.pending.length) return;
    this.busy = true;
    const batch = this.pending.slice(0, this.max);
    try {
      await this.send(batch);
      this.pending.splice(0, batch.length);
    } catch (error) {
      // final (a 4xx: recorded by the Api as an error) → dropped like the extension parks it;
      // retryable past giveUpAt → stays pending and is reported as unacknowledged
      if (error instanceof FinalError) this.pending.splice(0, batch.length);
      else {
        this.busy = false;
        return;
      }
    }
    this.busy = false;
    void this.pump();
  }
}

export class Notebook {
  runId = '';
  /** key → steps acknowledged (0…n-1: one batch in flight, in step order) */
  readonly ackedSteps = new Map<string, number>();
  /** execution key → the origins whose records were acknowledged */
  readonly executions = new Map<string, Set<Origin>>();
  droppedPoints = 0;
  droppedCells = 0;
  imagesAcked = 0;
  private step = 0;
  private cells = 0;
  private readonly keys: string[];
  private readonly points: Outbox<Point>;
  private readonly outboxes: Record<Origin, Outbox<Record<string, unknown>>>;

  constructor(
    private readonly api: Api,
    private readonly auth: Auth,
    private readonly project: string,
    private readonly index: number,
    private readonly options: NotebookOptions,
  ) {
    this.keys = ['train/loss', 'train/acc', 'lr', 'grad/norm', 'val/loss'].slice(0, options.keys);
    this.points = new Outbox(async (batch) => {
      try {
        await api.call('ingest.metrics', { runId: this.runId, points: batch }, auth);
      } catch (error) {
        if (error instanceof FinalError) this.droppedPoints += batch.length;
        throw error;
      }
      for (const p of batch) this.ackedSteps.set(p.key, Math.max(this.ackedSteps.get(p.key) ?? 0, p.step + 1));
    }, 5000);
    const cellsOf = (origin: Origin) =>
      new Outbox<Record<string, unknown>>(async (batch) => {
        try {
          await api.call('ingest.cells', { runId: this.runId, origin, cells: batch }, auth);
        } catch (error) {
          if (error instanceof FinalError) this.droppedCells += batch.length;
          throw error;
        }
        for (const cell of batch) {
          const key = cell.executionKey as string;
          if (!this.executions.has(key)) this.executions.set(key, new Set());
          this.executions.get(key)!.add(origin);
          if (origin === 'frontend' && JSON.stringify(cell.outputs ?? []).includes('image/png')) this.imagesAcked++;
        }
      }, 50);
    this.outboxes = { kernel: cellsOf('kernel'), frontend: cellsOf('frontend') };
  }

  async start() {
    const input = {
      project: this.project,
      clientKey: `soak-notebook-${this.index}-${randomUUID()}`,
      notebookPath: `soak/${this.index % 10}.ipynb`,
      kernelName: 'python3',
      startedAt: new Date().toISOString(),
    };
    this.runId = (await this.api.call('ingest.startRun', input, this.auth)).runId;
  }

  /** Logs and executes until `until` (performance.now() ms). */
  async run(until: number) {
    const stepMs = 1000 / this.options.hz;
    let nextStep = performance.now() + Math.random() * stepMs;
    let nextCell = performance.now() + Math.random() * this.options.cellEveryMs;
    const ending: Promise<void>[] = [];
    while (performance.now() < until) {
      const now = performance.now();
      if (now >= nextStep) {
        this.logStep();
        nextStep += stepMs;
        if (nextStep < now) nextStep = now + stepMs; // fell behind (machine busy): skip, don't burst
      }
      if (now >= nextCell) {
        ending.push(this.execute());
        nextCell = now + this.options.cellEveryMs * (0.5 + Math.random());
      }
      await new Promise((r) => setTimeout(r, Math.max(1, Math.min(nextStep, nextCell) - performance.now())));
    }
    await Promise.all(ending);
  }

  get unacknowledged() {
    return this.points.pending.length + this.outboxes.kernel.pending.length + this.outboxes.frontend.pending.length;
  }

  get idle() {
    return this.points.idle && this.outboxes.kernel.idle && this.outboxes.frontend.idle;
  }

  /** Pumps again whatever is pending (after the outboxes gave up waiting). */
  retry() {
    void this.points.pump();
    void this.outboxes.kernel.pump();
    void this.outboxes.frontend.pump();
  }

  private logStep() {
    const step = this.step++;
    const time = new Date().toISOString();
    this.keys.forEach((key, k) => this.points.push({ key, step, value: k === 0 ? 1 / (1 + step) + Math.random() * 0.01 : Math.sin(step / 50 + k), time }));
  }

  private async execute() {
    const n = this.cells++;
    const executionKey = randomUUID();
    const startedAt = new Date().toISOString();
    const base = {
      executionKey,
      cellId: `cell-${n % 12}`,
      executionCount: n + 1,
      source: `for step in range(100):\n    cellmark.log({"loss": loss(step)})  # ${n}`,
      startedAt,
    };
    this.outboxes.kernel.push({ ...base, status: 'running', endedAt: null });
    await new Promise((r) => setTimeout(r, 200 + Math.random() * 1000));
    const endedAt = new Date().toISOString();
    const outputs: unknown[] = [{ output_type: 'stream', name: 'stdout', text: `epoch ${n}: loss ${(1 / (n + 1)).toFixed(4)}\n`.repeat(1 + (n % 5)) }];
    if (n % this.options.imageEvery === this.options.imageEvery - 1) {
      // random bytes: a distinct blob each time (content-addressed, so a repeat would be free)
      outputs.push({ output_type: 'display_data', data: { 'image/png': randomBytes(12_000).toString('base64'), 'text/plain': '<Figure>' }, metadata: {} });
    }
    this.outboxes.kernel.push({ ...base, status: 'ok', endedAt, config: n % 4 === 0 ? { lr: 0.001 * (1 + (n % 3)), batch: 32 } : undefined });
    this.outboxes.frontend.push({ ...base, position: n % 12, status: 'ok', endedAt, outputs });
  }
}
