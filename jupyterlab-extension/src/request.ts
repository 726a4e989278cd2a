// The one place where the extension talks HTTP to the Cellmark server (tRPC v11
// over plain JSON). Every failure leaves here as a CellmarkError with a message a
// person can act on, and a flag that says whether retrying later can help.

/** Where to send requests and how to authenticate them. */
export interface IServerConfig {
  serverUrl: string;
  apiToken: string;
}

export type CellmarkErrorKind =
  | 'not-configured'
  | 'unreachable'
  | 'unauthorized'
  | 'forbidden'
  | 'invalid'
  | 'not-found'
  | 'too-large'
  | 'busy'
  | 'server'
  | 'bad-response'
  | 'storage';

/** Short labels for the status bar; the full text is in `message`. */
const SHORT: Record<CellmarkErrorKind, string> = {
  'not-configured': 'not configured',
  unreachable: 'server unreachable',
  unauthorized: 'token rejected',
  forbidden: 'forbidden',
  invalid: 'invalid data',
  'not-found': 'not found',
  'too-large': 'too large',
  busy: 'server busy',
  server: 'server error',
  'bad-response': 'unexpected response',
  storage: 'cannot store',
};

export class CellmarkError extends Error {
  readonly kind: CellmarkErrorKind;
  /** HTTP status, or null when no response arrived. */
  readonly status: number | null;
  /** Whether the same request may succeed later without the user doing anything. */
  readonly retryable: boolean;

  constructor(kind: CellmarkErrorKind, message: string, status: number | null = null) {
    super(message);
    this.name = 'CellmarkError';
    this.kind = kind;
    this.status = status;
    this.retryable = kind === 'unreachable' || kind === 'busy' || kind === 'server';
  }

  /** A few words for the status bar. */
  get short(): string {
    return SHORT[this.kind];
  }
}

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface IRequestOptions {
  method: 'GET' | 'POST';
  input?: unknown;
  /** Abort the request after this long; counts as "unreachable". */
  timeoutMs?: number;
  /** fetch keepalive: the request goes on after the page is gone (bodies ≤ 64 KiB in flight). */
  keepalive?: boolean;
  fetch?: FetchLike;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_MESSAGE_CHARS = 400;

/** `<serverUrl>/api/trpc/<procedure>`, tolerating trailing slashes in the setting. */
export function procedureUrl(serverUrl: string, procedure: string): string {
  return `${serverUrl.trim().replace(/\/+$/, '')}/api/trpc/${procedure}`;
}

/**
 * Call one tRPC procedure and return its `result.data`.
 *
 * Throws CellmarkError for every failure: network, timeout, HTTP status or a body
 * that is not a tRPC response.
 */
export async function trpcRequest<T>(config: IServerConfig, procedure: string, options: IRequestOptions): Promise<T> {
  if (!config.serverUrl.trim() || !config.apiToken.trim()) {
    throw new CellmarkError('not-configured', 'Cellmark is not configured: set serverUrl and apiToken');
  }
  const serverUrl = config.serverUrl.trim().replace(/\/+$/, '');
  let url = procedureUrl(serverUrl, procedure);
  const init: RequestInit = {
    method: options.method,
    mode: 'cors',
    credentials: 'omit',
    headers: {
      Authorization: `Bearer ${config.apiToken.trim()}`,
      'content-type': 'application/json',
    },
  };
  if (options.keepalive) {
    init.keepalive = true;
  }
  if (options.input !== undefined) {
    if (options.method === 'GET') {
      url += `?input=${encodeURIComponent(JSON.stringify(options.input))}`;
    } else {
      init.body = JSON.stringify(options.input);
    }
  }

  const doFetch: FetchLike = options.fetch ?? ((u, i) => fetch(u, i));
  const controller = new AbortController();
  init.signal = controller.signal;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const timer = setTimeout(() => controller.abort(), timeoutMs);

  let response: Response;
  let text: string;
  try {
    response = await doFetch(url, init);
    text = await response.text();
  } catch {
    // Browsers report refused connections, DNS failures and CORS rejections
    // alike as a TypeError without detail, so the message cannot be more precise.
    const detail = controller.signal.aborted ? ` (no answer within ${Math.round(timeoutMs / 1000)} s)` : '';
    throw new CellmarkError('unreachable', `Cellmark server unreachable at ${serverUrl}${detail}`);
  } finally {
    clearTimeout(timer);
  }

  const body = parseJson(text);
  if (!response.ok) {
    throw errorForStatus(response.status, serverMessage(body, text, response.statusText));
  }
  if (!isObject(body) || !isObject(body.result) || !('data' in body.result)) {
    throw new CellmarkError(
      'bad-response',
      `unexpected response from ${url}: ${clip(text) || '(empty body)'} — is serverUrl a Cellmark server?`,
      response.status,
    );
  }
  return body.result.data as T;
}

/** A health probe is one small GET; an answer slower than this counts as none. */
export const HEALTH_TIMEOUT_MS = 2000;

/**
 * Whether `GET <serverUrl>/healthz` answers 200 (the server is up and has its database).
 * Unauthenticated and without headers, so the browser sends it cross-origin without a
 * preflight (the server allows any origin there). Never throws.
 */
export async function healthCheck(serverUrl: string, options: { fetch?: FetchLike; timeoutMs?: number } = {}): Promise<boolean> {
  if (!serverUrl.trim()) {
    return false;
  }
  const doFetch: FetchLike = options.fetch ?? ((u, i) => fetch(u, i));
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? HEALTH_TIMEOUT_MS);
  try {
    const response = await doFetch(`${serverUrl.trim().replace(/\/+$/, '')}/healthz`, {
      method: 'GET',
      mode: 'cors',
      credentials: 'omit',
      cache: 'no-store',
      signal: controller.signal,
    });
    await response.text();
    return response.status === 200;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Map an HTTP error status to the typed error, keeping the server's words. */
export function errorForStatus(status: number, message: string): CellmarkError {
  if (status === 401) {
    return new CellmarkError('unauthorized', `token rejected (401): ${message}`, status);
  }
  if (status === 403) {
    return new CellmarkError('forbidden', `forbidden (403): ${message}`, status);
  }
  if (status === 404) {
    return new CellmarkError('not-found', `not found (404): ${message}`, status);
  }
  if (status === 413) {
    return new CellmarkError('too-large', `too large (413): ${message}`, status);
  }
  if (status === 408 || status === 429) {
    return new CellmarkError('busy', `server busy (${status}): ${message}`, status);
  }
  if (status >= 500) {
    return new CellmarkError('server', `server error (${status}): ${message}`, status);
  }
  return new CellmarkError('invalid', `invalid data (${status}): ${message}`, status);
}

/**
 * The human part of a tRPC error body. Input validation errors carry a JSON list
 * of issues as their message; those become "path: message; ...".
 */
function serverMessage(body: unknown, text: string, statusText: string): string {
  let message: string | undefined;
  if (isObject(body) && isObject(body.error) && typeof body.error.message === 'string') {
    message = body.error.message;
  }
  if (message === undefined) {
    return clip(text) || statusText || 'no message';
  }
  const issues = parseJson(message);
  if (Array.isArray(issues) && issues.length > 0 && issues.every(isObject)) {
    message = issues
      .map((issue) => {
        const path = Array.isArray(issue.path) ? issue.path.join('.') : '';
        const text = typeof issue.message === 'string' ? issue.message : JSON.stringify(issue);
        return path ? `${path}: ${text}` : text;
      })
      .join('; ');
  }
  return clip(message);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function clip(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_MESSAGE_CHARS ? `${flat.slice(0, MAX_MESSAGE_CHARS)}…` : flat;
}

/** Any thrown value as a CellmarkError (bugs become "unexpected response"). */
export function asCellmarkError(reason: unknown): CellmarkError {
  if (reason instanceof CellmarkError) {
    return reason;
  }
  const message = reason instanceof Error ? reason.message : String(reason);
  return new CellmarkError('bad-response', `Cellmark: ${message}`);
}
