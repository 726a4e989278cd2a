// Tells when an unreachable Cellmark server is back: asks its cheap, unauthenticated
// GET /healthz about once a second (with jitter, so pages that lost the same server do not
// come back in step), one request at a time, and calls back at the first 200. The shipper
// ends its backoff with it and the token check retries with it, so what waited reaches the
// server within seconds of its return, however long the backoff grew meanwhile.
import type { IDisposable } from '@lumino/disposable';

export const PROBE_INTERVAL_MS = 1000;

export interface IHealthProbeOptions {
  /** One health request: true for a 200. It must settle (request.ts bounds it by a timeout). */
  healthy: () => Promise<boolean>;
  intervalMs?: number;
  /** For jitter; tests pass a constant. */
  random?: () => number;
}

export class HealthProbe implements IDisposable {
  private readonly healthy: () => Promise<boolean>;
  private readonly intervalMs: number;
  private readonly random: () => number;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inFlight = false;
  /** Bumped by start and stop, so an answer to an older probe changes nothing. */
  private seq = 0;
  private _isDisposed = false;

  constructor(options: IHealthProbeOptions) {
    this.healthy = options.healthy;
    this.intervalMs = options.intervalMs ?? PROBE_INTERVAL_MS;
    this.random = options.random ?? Math.random;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Whether it is asking (between start and its callback or stop). */
  get active(): boolean {
    return this.timer !== null || this.inFlight;
  }

  /**
   * Ask until the server answers 200, then call onBack once. With `mustSeeDown`, only a 200
   * after a failed probe counts: the caller just found the server unreachable although the
   * probe had said it was healthy (it answers /healthz, not the real request), so a bare
   * 200 says nothing new. Restarting replaces the earlier callback.
   */
  start(onBack: () => void, mustSeeDown = false): void {
    this.stop();
    if (this._isDisposed) {
      return;
    }
    const seq = this.seq;
    let waitForDown = mustSeeDown;
    const next = () => {
      this.timer = setTimeout(
        () => {
          this.timer = null;
          this.inFlight = true;
          void this.healthy()
            .catch(() => false)
            .then((ok) => {
              if (seq !== this.seq) {
                return;
              }
              this.inFlight = false;
              if (!ok) {
                waitForDown = false;
                next();
              } else if (waitForDown) {
                next();
              } else {
                this.seq += 1;
                onBack();
              }
            });
        },
        this.intervalMs * (0.8 + 0.4 * this.random()),
      );
    };
    next();
  }

  stop(): void {
    this.seq += 1;
    this.inFlight = false;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  dispose(): void {
    this.stop();
    this._isDisposed = true;
  }
}
