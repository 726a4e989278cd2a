// Keeps cell rows small: binary MIME values (images, PDFs…) and anything over the inline
// limit move into the blob store; the row keeps {"$blob": sha256, size, encoding}.
import type { CellOutput } from '@cellmark/db';
import { type BlobStore, sha256Of } from '../blobs/store.ts';
import { DomainError } from './errors.ts';

export interface BlobPointer {
  $blob: string;
  size: number;
  /** how the original nbformat value was written: base64 (binary), utf8 (text) or json */
  encoding: 'base64' | 'utf8' | 'json';
}

export interface StoredBlob {
  sha256: string;
  size: number;
  mediaType: string;
}

/** nbformat stores these as base64 strings; everything else is text or JSON. */
export function isBinaryMime(mime: string): boolean {
  if (mime.startsWith('text/') || mime === 'image/svg+xml') return false;
  if (mime === 'application/json' || mime.endsWith('+json') || mime.endsWith('+xml') || mime === 'application/javascript') return false;
  return mime.startsWith('image/') || mime.startsWith('audio/') || mime.startsWith('video/') || mime.startsWith('application/');
}

/**
 * nbformat base64: letters, digits, `+`, `/`, whitespace, then up to two `=` and whitespace.
 * Two linear checks; the one pattern they replace, /^[A-Za-z0-9+/\s]*={0,2}\s*$/, backtracks
 * on whitespace: 80,000 spaces and a "!" held the event loop for 7–11 s.
 */
export function isBase64(value: string): boolean {
  if (/[^A-Za-z0-9+/=\s]/.test(value)) return false;
  const pad = value.indexOf('=');
  return pad < 0 || /^={1,2}\s*$/.test(value.slice(pad));
}

/**
 * A MIME key becomes the blob's Content-Type when it is served: visible ASCII only (a CR/LF
 * in it made every read of the blob a 500), and short.
 */
const MIME_KEY = /^[\x21-\x7e]{1,255}$/;

/** A blob the batch will write: bytes and digest, computed before anything is stored. */
export interface PendingBlob extends StoredBlob {
  bytes: Uint8Array;
}

/**
 * The outputs as they will be stored, and the blobs to write first. Pure: throws
 * INVALID_INPUT naming the field before anything is written.
 */
export function planOutputs(outputs: CellOutput[], inlineLimit: number, at: string): { outputs: CellOutput[]; blobs: PendingBlob[] } {
  const blobs: PendingBlob[] = [];
  const keep = (bytes: Uint8Array, mediaType: string, encoding: BlobPointer['encoding']): BlobPointer => {
    const sha256 = sha256Of(bytes);
    blobs.push({ sha256, size: bytes.length, mediaType, bytes });
    return { $blob: sha256, size: bytes.length, encoding };
  };
  const result: CellOutput[] = [];
  for (const [i, output] of outputs.entries()) {
    if (output.output_type === 'stream') {
      const bytes = Buffer.from(output.text, 'utf8');
      result.push(bytes.length > inlineLimit ? { ...output, text: keep(bytes, 'text/plain', 'utf8') as never } : output);
      continue;
    }
    if (output.output_type !== 'execute_result' && output.output_type !== 'display_data') {
      result.push(output);
      continue;
    }
    const data: Record<string, unknown> = {};
    for (const [mime, raw] of Object.entries(output.data)) {
      if (!MIME_KEY.test(mime)) {
        throw new DomainError(
          'INVALID_INPUT',
          `${at}.outputs.${i}.data: MIME type ${JSON.stringify(mime.slice(0, 60))} must be 1–255 visible ASCII characters`,
        );
      }
      const value = Array.isArray(raw) && raw.every((v) => typeof v === 'string') ? raw.join('') : raw;
      if (isBinaryMime(mime)) {
        if (typeof value !== 'string' || !isBase64(value)) {
          throw new DomainError('INVALID_INPUT', `${at}.outputs.${i}.data.${mime}: binary output must be a base64 string`);
        }
        data[mime] = keep(Buffer.from(value, 'base64'), mime, 'base64');
      } else if (typeof value === 'string') {
        const bytes = Buffer.from(value, 'utf8');
        data[mime] = bytes.length > inlineLimit ? keep(bytes, mime, 'utf8') : value;
      } else {
        const json = Buffer.from(JSON.stringify(value), 'utf8');
        data[mime] = json.length > inlineLimit ? keep(json, mime, 'json') : value;
      }
    }
    result.push({ ...output, data });
  }
  return { outputs: result, blobs };
}

/** planOutputs, then the blobs written: for callers with one output list. */
export async function externalizeOutputs(
  outputs: CellOutput[],
  store: BlobStore,
  inlineLimit: number,
  at: string,
): Promise<{ outputs: CellOutput[]; blobs: StoredBlob[] }> {
  const plan = planOutputs(outputs, inlineLimit, at);
  for (const blob of plan.blobs) await store.put(blob.bytes);
  return { outputs: plan.outputs, blobs: plan.blobs.map(({ bytes: _, ...blob }) => blob) };
}
