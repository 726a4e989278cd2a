// The soak's HTTP client: tRPC over plain fetch, as the capture paths and the web UI call it.
// Every call has a timeout (a hang is reported as one, never waited out); what is not a 2xx
// is recorded with its cause. Writes retry like the extension's shipper: network errors,
// 5xx, 408 and 429 back off exponentially and try again (calls are idempotent by execution
// key and metric step); any other 4xx is final. Calls go round-robin over the server URLs.

export interface Failure {
  /** ms since the soak started */
  at: number;
  route: string;
  server: string;
  /** HTTP status, or the network error's code ('ECONNREFUSED', 'timeout', …) */
  status: number | string;
  message: string;
}

export class Recorder {
  readonly t0 = performance.now();
  readonly failures: Failure[] = [];
  readonly latencies = new Map<string, number[]>();
  now() {
    return performance.now() - this.t0;
  }
  ok(route: string, ms: number) {
    let list = this.latencies.get(route);
    if (!list) {
      list = [];
      this.latencies.set(route, list);
    }
    list.push(ms);
  }
  fail(failure: Omit<Failure, 'at'>) {
    this.failures.push({ at: this.now(), ...failure });
  }
}

export type Auth = { token: string } | { cookie: string };

export class FinalError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const retryable = (status: number) => status >= 500 || status === 408 || status === 429;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Api {
  private turn = 0;
  /** set at the end of the soak: retries give up after this (ms since the soak started) */
  giveUpAt = Infinity;

  constructor(
    readonly urls: string[],
    readonly recorder: Recorder,
    readonly timeoutMs = 10_000,
    /** backoff cap; the extension's is 60 s, shorter here so a short soak sees the recovery */
    readonly maxBackoffMs = 4_000,
  ) {}

  nextUrl() {
    return this.urls[this.turn++ % this.urls.length]!;
  }

  /** One attempt; throws FinalError for a 4xx, or an Error whose message is the cause. */
  async once(route: string, input: unknown, auth: Auth, method: 'GET' | 'POST' = 'POST') {
    const base = this.nextUrl();
    const headers: Record<string, string> = 'token' in auth ? { authorization: `Bearer ${auth.token}` } : { cookie: auth.cookie };
    const url = method === 'GET' ? `${base}/api/trpc/${route}?input=${encodeURIComponent(JSON.stringify(input))}` : `${base}/api/trpc/${route}`;
    const start = performance.now();
    let res: Response;
    let body: string;
    try {
      res = await fetch(url, {
        method,
        headers: method === 'POST' ? { ...headers, 'content-type': 'application/json' } : headers,
        body: method === 'POST' ? JSON.stringify(input) : undefined,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      body = await res.text();
    } catch (error) {
      const e = error as Error & { cause?: { code?: string; message?: string } };
      const status = e.name === 'TimeoutError' ? 'timeout' : (e.cause?.code ?? e.name);
      const message = e.name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : (e.cause?.message ?? e.message);
      this.recorder.fail({ route, server: base, status, message });
      throw new RetryableError(`${status}: ${message}`);
    }
    if (res.ok) {
      this.recorder.ok(route, performance.now() - start);
      // biome-ignore lint/suspicious/noExplicitAny: a bench reads a field or two of answers it just asked for; any keeps each call one line
      return (JSON.parse(body) as { result: { data: any } }).result.data;
    }
    let message = body.slice(0, 300);
    try {
      message = (JSON.parse(body) as { error?: { message?: string } }).error?.message ?? message;
    } catch {}
    this.recorder.fail({ route, server: base, status: res.status, message });
    if (retryable(res.status)) throw new RetryableError(`${res.status}: ${message}`);
    throw new FinalError(res.status, message);
  }

  /** Until acknowledged (or giveUpAt): what a client with an outbox does. */
  async call(route: string, input: unknown, auth: Auth, method: 'GET' | 'POST' = 'POST') {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(route, input, auth, method);
      } catch (error) {
        if (!(error instanceof RetryableError) || this.recorder.now() > this.giveUpAt) throw error;
        const backoff = Math.min(this.maxBackoffMs, 250 * 2 ** attempt);
        await sleep(backoff / 2 + Math.random() * (backoff / 2));
      }
    }
  }
}

export class RetryableError extends Error {}
