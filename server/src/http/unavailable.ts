// Failures that mean "the database or the disk is down or full: try again", not a bug. They
// answer 503 with Retry-After, so clients (the extension's outbox, the kernel's sender) keep
// their records and retry, and the caller reads why instead of "internal error". Found by the
// soak bench's fault run: a killed Postgres and a full disk under PGlite answered 500s.
const CODES = new Set([
  // postgres.js
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  // the network and the disk (Node)
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENOSPC',
  'EDQUOT',
]);
/** SQLSTATE: connection exceptions, insufficient resources (disk full, out of memory, too many connections), shutdown and start-up */
const SQLSTATE = /^(08[0-9A-Z]{3}|53[0-9A-Z]{3}|57P0[1-3])$/;
/** PGlite names these in its messages only */
const MESSAGE = /no space left on device|PGlite is closed/i;

export const RETRY_AFTER_SECONDS = 5;

export function isStorageUnavailable(error: unknown): boolean {
  let e: unknown = error;
  // drizzle wraps the driver's error as `cause`, and so may we: a short, bounded walk
  for (let depth = 0; depth < 6 && e && typeof e === 'object'; depth++) {
    const { code, message, cause } = e as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof code === 'string' && (CODES.has(code) || SQLSTATE.test(code))) return true;
    if (typeof message === 'string' && MESSAGE.test(message)) return true;
    e = cause;
  }
  return false;
}

export const unavailableMessage = (requestId: string) => `storage unavailable, try again shortly (request id ${requestId})`;
