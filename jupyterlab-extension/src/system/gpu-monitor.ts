// Listens on every notebook kernel for the kernel side's `cellmark.system` comm
// and keeps the latest GPU sample per kernel. The kernel opens the comm when
// capture activates and sends from its sampler thread, so readings keep coming
// while a long cell blocks the shell channel.
import { type ISignal, Signal } from '@lumino/signaling';
import { type IGpuSample, parseGpuSample } from './gpu-sample';

export const COMM_TARGET = 'cellmark.system';

/** The parts of a comm the monitor uses (Kernel.IComm fits). */
export interface ICommLike {
  onMsg: ((msg: { content: { data: unknown } }) => void | PromiseLike<void>) | null;
  onClose: ((msg: unknown) => void | PromiseLike<void>) | null;
}

/** The parts of a kernel connection the monitor uses (Kernel.IKernelConnection fits). */
export interface ICommKernel {
  readonly id: string;
  registerCommTarget(target: string, callback: (comm: ICommLike, msg: { content: { data: unknown } }) => void | PromiseLike<void>): void;
}

export class GpuMonitor {
  private readonly samples = new Map<string, IGpuSample>();
  private readonly watched = new WeakSet<object>();
  private readonly _changed = new Signal<this, string>(this);

  /** Emits the id of the kernel whose sample changed. */
  get changed(): ISignal<this, string> {
    return this._changed;
  }

  /** Start listening on a kernel connection (idempotent per connection). */
  watch(kernel: ICommKernel | null | undefined): void {
    if (!kernel || this.watched.has(kernel)) {
      return;
    }
    this.watched.add(kernel);
    try {
      kernel.registerCommTarget(COMM_TARGET, (comm, msg) => {
        this.take(kernel.id, msg.content.data);
        comm.onMsg = (m) => this.take(kernel.id, m.content.data);
        comm.onClose = () => {
          if (this.samples.delete(kernel.id)) {
            this._changed.emit(kernel.id);
          }
        };
      });
    } catch (reason) {
      console.warn('Cellmark: cannot listen for GPU readings on this kernel', reason);
    }
  }

  /** The latest sample of a kernel, or null. */
  sample(kernelId: string | null | undefined): IGpuSample | null {
    return (kernelId && this.samples.get(kernelId)) || null;
  }

  private take(kernelId: string, data: unknown): void {
    // the kernel side stopped sampling (capture paused, kernel shutting down)
    if (typeof data === 'object' && data !== null && (data as { type?: unknown }).type === 'stopped') {
      if (this.samples.delete(kernelId)) {
        this._changed.emit(kernelId);
      }
      return;
    }
    const sample = parseGpuSample(data);
    if (sample) {
      this.samples.set(kernelId, sample);
      this._changed.emit(kernelId);
    }
  }
}
