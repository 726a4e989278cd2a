// Reads request bodies ourselves, so that oversize bodies get a clear 413 naming the limit,
// and invalid UTF-8 in tRPC bodies a 400 naming the field instead of replacement characters.
import type { IncomingMessage } from 'node:http';
import { DomainError } from '../domain/errors.ts';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder('utf-8');

export async function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const bytes = await readBytes(req, maxBytes, (size) => tooLarge(size, maxBytes));
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new DomainError('INVALID_INPUT', `invalid input: ${invalidUtf8Fields(bytes)} not valid UTF-8`);
  }
}

/**
 * The whole body as bytes, refusing (with `tooLarge`'s error) as soon as the declared or the
 * received size passes `maxBytes`: nothing past the limit is buffered. `declared` tells the
 * error whether `size` is the whole body's (Content-Length) or only what arrived so far.
 */
export async function readBytes(req: IncomingMessage, maxBytes: number, tooLarge: (size: number, declared: boolean) => DomainError): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) throw tooLarge(declared, true);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw tooLarge(size, false);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function tooLarge(size: number, max: number) {
  return new DomainError('PAYLOAD_TOO_LARGE', `request body is ${size} bytes, over the limit of ${max} (CELLMARK_MAX_BODY_BYTES)`);
}

/** Which JSON fields held the bad bytes: they decode to U+FFFD where the strict decoder failed. */
function invalidUtf8Fields(bytes: Buffer): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(lenientUtf8.decode(bytes));
  } catch {
    return 'request body is';
  }
  const paths: string[] = [];
  const walk = (value: unknown, at: string[]) => {
    if (typeof value === 'string') {
      if (value.includes('\uFFFD')) paths.push(at.join('.') || 'body');
    } else if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...at, String(i)]));
    else if (value && typeof value === 'object') Object.entries(value).forEach(([k, v]) => walk(v, [...at, k]));
  };
  walk(parsed, []);
  return paths.length ? `${paths.slice(0, 5).join(', ')} ${paths.length === 1 ? 'is' : 'are'}` : 'request body is';
}
