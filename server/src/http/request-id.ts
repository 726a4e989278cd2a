// One id per HTTP request: sent back as `x-request-id` and logged with any internal error,
// so a caller's "internal error (request id …)" can be found in the logs.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

const ids = new WeakMap<IncomingMessage, string>();

export function assignRequestId(req: IncomingMessage, res: ServerResponse): string {
  const id = randomUUID();
  ids.set(req, id);
  res.setHeader('x-request-id', id);
  return id;
}

export const requestIdOf = (req: IncomingMessage | undefined): string => (req && ids.get(req)) ?? 'none';

/** What a caller is told about a failure of ours: nothing of its cause. */
export const internalErrorMessage = (requestId: string) => `internal error (request id ${requestId})`;
