// Which page records into which run of the outbox. The outbox may be shared with other
// tabs and outlive this page: every queued run names the page (its owner) recording into
// it. A page that asks for a run already queued under the same clientKey (another tab of
// this browser records into the same kernel's run, or a page before a reload did) takes it
// over; a reloaded page continues an open run of its kernel whose page is gone; runs whose
// page and kernel are both gone are ended, since nobody else will (closing a tab does not
// end a run: its kernel may live on). Whether a page is gone is asked of IPageLiveness.
import type { IRunInfo, IStartRunInput } from '../api';
import type { IOutbox, IOutboxRun } from './outbox';
import type { IPageLiveness } from './page-liveness';

/** What a notebook's capture asks for when its kernel session needs a run. */
export interface IRunRequest {
  start: IStartRunInput;
  kernelId: string | null;
  /** The run this one continues (kernel restart), by clientKey. */
  previousClientKey?: string | null;
}

/** The owner of a run no page records into any more. */
export const RELEASED = '';

export class RunTakeover {
  constructor(
    private readonly outbox: IOutbox,
    private readonly liveness: IPageLiveness,
    private readonly now: () => Date,
  ) {}

  get pageId(): string {
    return this.liveness.pageId;
  }

  /**
   * Queue a run for this page, or take over the one queued under its clientKey. Returns the
   * server's run when the queued one was created already.
   */
  async claim(request: IRunRequest): Promise<IRunInfo | null> {
    const clientKey = request.start.clientKey;
    const queued = await this.outbox.getRun(clientKey);
    if (!queued) {
      await this.outbox.addRun({
        clientKey,
        start: request.start,
        previousClientKey: request.previousClientKey ?? null,
        kernelId: request.kernelId,
        owner: this.pageId,
        createdAt: this.now().getTime(),
        run: null,
        end: null,
      });
      return null;
    }
    if (queued.end === null && queued.owner !== this.pageId) {
      await this.outbox.updateRun(clientKey, { owner: this.pageId });
    }
    return queued.run;
  }

  /**
   * This page stops recording into a run that goes on without it (its kernel holds it and
   * ends it): the entry stays until its cells are sent, and goes with endOrphans once the
   * kernel is gone.
   */
  release(clientKey: string): Promise<void> {
    return this.outbox.updateRun(clientKey, { owner: RELEASED });
  }

  /**
   * An open run of this kernel and project whose page is gone (the page was reloaded), now
   * owned by this page, the newest first; null when there is none to continue.
   */
  async resume(kernelId: string, project: string): Promise<IOutboxRun | null> {
    const candidates = (await this.outbox.runs()).filter(
      (r) => r.kernelId === kernelId && r.end === null && r.start.project === project && r.owner !== this.pageId,
    );
    for (const candidate of candidates.reverse()) {
      if (await this.liveness.isAlive(candidate.owner)) {
        continue;
      }
      await this.outbox.updateRun(candidate.clientKey, { owner: this.pageId });
      return { ...candidate, owner: this.pageId };
    }
    return null;
  }

  /** End (`finished`, now) the open runs whose page is gone and whose kernel no longer runs; returns how many. */
  async endOrphans(isKernelRunning: (kernelId: string) => boolean): Promise<number> {
    let ended = 0;
    for (const entry of await this.outbox.runs()) {
      if (entry.end !== null || entry.owner === this.pageId) {
        continue;
      }
      if (entry.kernelId !== null && isKernelRunning(entry.kernelId)) {
        continue;
      }
      if (entry.owner !== RELEASED && (await this.liveness.isAlive(entry.owner))) {
        continue;
      }
      await this.outbox.updateRun(entry.clientKey, {
        end: { status: 'finished', endedAt: this.now().toISOString() },
      });
      ended += 1;
    }
    return ended;
  }
}
