// Reads request bodies ourselves, so that oversize bodies get a clear 413 naming the limit,
// invalid UTF-8 in tRPC bodies a 400 naming the field instead of replacement characters,
// and JSON nested too deep a 400 before anything parses it. Every check runs on each chunk
// as it arrives (linear, spread over the upload), so a 32 MiB body never holds the event loop
// for more than its one JSON.parse.
import type { IncomingMessage } from 'node:http';
import { DomainError } from '../domain/errors.ts';

/**
 * Deeper JSON is refused: nbformat outputs and config values are shallow, and the walkers
 * after parsing (zod, validation, JSON.stringify, jsonb) recurse — 5,000 levels overflowed the stack.
 */
export const MAX_JSON_DEPTH = 100;

const lenientUtf8 = new TextDecoder('utf-8');
const YIELD_BYTES = 1024 * 1024;

/** Tracks the nesting depth of JSON text across chunks, skipping strings. */
export class JsonDepth {
  depth = 0;
  private inString = false;
  private escaped = false;
  private offset = 0;
  constructor(private readonly max: number) {}

  /**
   * Throws INVALID_INPUT once the text nests deeper than `max`. String contents are skipped
   * with indexOf (memchr): a byte loop cost ~3.5 ns a byte, 100 ms for a 30 MiB body.
   */
  feed(bytes: Buffer): void {
    let { depth, inString, escaped } = this;
    const n = bytes.length;
    let nextEscape = -2; // where the next backslash is (-1: none in this chunk; -2: not looked yet)
    let i = 0;
    while (i < n) {
      if (inString) {
        if (escaped) {
          escaped = false;
          i++;
          continue;
        }
        // short strings (keys, numbers-as-text) byte by byte; long ones (outputs) by memchr
        const stop = Math.min(n, i + 32);
        let j = i;
        while (j < stop && bytes[j] !== 0x22 && bytes[j] !== 0x5c) j++;
        if (j < stop) {
          if (bytes[j] === 0x5c) escaped = true;
          else inString = false;
          i = j + 1;
          continue;
        }
        i = j;
        if (i >= n) break;
        const quote = bytes.indexOf(0x22, i);
        if (nextEscape !== -1 && nextEscape < i) nextEscape = bytes.indexOf(0x5c, i);
        if (nextEscape !== -1 && (quote === -1 || nextEscape < quote)) {
          escaped = true;
          i = nextEscape + 1;
        } else if (quote !== -1) {
          inString = false;
          i = quote + 1;
        } else i = n;
        continue;
      }
      const b = bytes[i]!;
      if (b === 0x22) inString = true;
      else if (b === 0x5b || b === 0x7b) {
        if (++depth > this.max) {
          throw new DomainError('INVALID_INPUT', `invalid input: JSON nested more than ${this.max} levels deep (at byte ${this.offset + i})`);
        }
      } else if (b === 0x5d || b === 0x7d) depth--;
      i++;
    }
    Object.assign(this, { depth, inString, escaped });
    this.offset += n;
  }

  feedText(text: string): void {
    this.feed(Buffer.from(text, 'utf8'));
  }
}

/** The body as text: strict UTF-8, at most `maxBytes`, JSON depth checked. */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
  const depth = new JsonDepth(MAX_JSON_DEPTH);
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) throw tooLarge(declared, maxBytes);
  const pieces: string[] = [];
  const chunks: Buffer[] = [];
  let size = 0;
  let utf8 = true;
  let sinceYield = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    // chunks already buffered arrive as microtasks, without a turn of the event loop between
    sinceYield += chunk.length;
    if (sinceYield > YIELD_BYTES) {
      sinceYield = 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
    size += chunk.length;
    if (size > maxBytes) throw tooLarge(size, maxBytes);
    chunks.push(chunk);
    if (!utf8) continue;
    try {
      pieces.push(strictUtf8.decode(chunk, { stream: true }));
      depth.feed(chunk);
    } catch (error) {
      if (error instanceof DomainError) throw error;
      utf8 = false;
    }
  }
  try {
    if (utf8) pieces.push(strictUtf8.decode());
  } catch {
    utf8 = false;
  }
  if (!utf8) throw new DomainError('INVALID_INPUT', `invalid input: ${invalidUtf8Fields(Buffer.concat(chunks))} not valid UTF-8`);
  return pieces.join('');
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

/** Naming the fields means parsing the body once more: done for bodies up to this size. */
const NAME_UTF8_FIELDS_BYTES = 4 * 1024 * 1024;

/** Which JSON fields held the bad bytes: they decode to U+FFFD where the strict decoder failed. */
function invalidUtf8Fields(bytes: Buffer): string {
  if (bytes.length > NAME_UTF8_FIELDS_BYTES) return 'request body is';
  let parsed: unknown;
  try {
    const text = lenientUtf8.decode(bytes);
    new JsonDepth(MAX_JSON_DEPTH).feedText(text);
    parsed = JSON.parse(text);
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

const parsed = new WeakMap<IncomingMessage, { value: unknown }>();

/**
 * Hands a non-batch tRPC call its input already parsed. tRPC would turn the body back into a
 * fetch Request and parse it there (encode, copy, decode, parse: ~140 ms for 30 MiB in one
 * go); the octet-stream content type makes it pass the body through unread, and the
 * procedures take this value instead (`parsedInput` in trpc/init.ts).
 */
export async function handOverJson(req: IncomingMessage & { body?: unknown }, text: string): Promise<void> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new DomainError('INVALID_INPUT', `invalid input: request body is not JSON (${(error as Error).message.slice(0, 200)})`);
  }
  parsed.set(req, { value });
  req.headers['content-type'] = 'application/octet-stream';
  req.body = '';
  // the parse was one long step: let waiting requests run before validation starts another
  await new Promise((resolve) => setImmediate(resolve));
}

export const parsedBodyOf = (req: IncomingMessage) => parsed.get(req);
