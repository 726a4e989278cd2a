// Which pages (browser tabs) of this Lab are open right now. Runs in the shared
// outbox name the page recording them; a page that reloads or opens the same
// notebook asks whether that page is still there before taking the run over.
// Asked over a BroadcastChannel: the owner answers within a few milliseconds,
// a page that is gone cannot.
import { UUID } from '@lumino/coreutils';
import type { IDisposable } from '@lumino/disposable';

export interface IPageLiveness {
  /** This page's id, written into the runs it records. */
  readonly pageId: string;
  /** Whether the page with this id is open (this page counts as open). */
  isAlive(pageId: string): Promise<boolean>;
}

type Message = { type: 'ping'; target: string; nonce: string } | { type: 'pong'; nonce: string };

export class BroadcastPageLiveness implements IPageLiveness, IDisposable {
  readonly pageId: string;
  private readonly channel: BroadcastChannel | null;
  private readonly timeoutMs: number;
  private readonly waiting = new Map<string, (alive: boolean) => void>();
  private _isDisposed = false;

  constructor(options: { pageId?: string; channelName?: string; timeoutMs?: number } = {}) {
    this.pageId = options.pageId ?? UUID.uuid4();
    this.timeoutMs = options.timeoutMs ?? 500;
    this.channel = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel(options.channelName ?? 'cellmark-pages');
    this.channel?.addEventListener('message', this.onMessage);
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  isAlive(pageId: string): Promise<boolean> {
    if (pageId === this.pageId) {
      return Promise.resolve(true);
    }
    if (!this.channel || this._isDisposed) {
      // Without a channel no page can answer: treat other pages as gone, so a
      // reload continues its runs (two tabs then may share one run).
      return Promise.resolve(false);
    }
    const nonce = UUID.uuid4();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(nonce);
        resolve(false);
      }, this.timeoutMs);
      this.waiting.set(nonce, (alive) => {
        clearTimeout(timer);
        this.waiting.delete(nonce);
        resolve(alive);
      });
      this.channel?.postMessage({ type: 'ping', target: pageId, nonce } satisfies Message);
    });
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this.channel?.removeEventListener('message', this.onMessage);
    this.channel?.close();
    for (const resolve of this.waiting.values()) {
      resolve(false);
    }
  }

  private readonly onMessage = (event: MessageEvent<Message>): void => {
    const msg = event.data;
    if (msg?.type === 'ping' && msg.target === this.pageId) {
      this.channel?.postMessage({ type: 'pong', nonce: msg.nonce } satisfies Message);
    } else if (msg?.type === 'pong') {
      this.waiting.get(msg.nonce)?.(true);
    }
  };
}

/** For tests and single-page use: every other page is gone. */
export class SinglePageLiveness implements IPageLiveness {
  constructor(
    readonly pageId: string = UUID.uuid4(),
    private readonly alive: Set<string> = new Set(),
  ) {}

  async isAlive(pageId: string): Promise<boolean> {
    return pageId === this.pageId || this.alive.has(pageId);
  }
}
