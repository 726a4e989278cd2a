// Keeps cell rows small: binary MIME values (images, PDFs…) and anything over the inline
// limit move into the blob store; the row keeps {"$blob": sha256, size, encoding}.
import type { CellOutput } from '@cellmark/db';
import type { BlobStore } from '../blobs/store.ts';
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

const BASE64 = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;

export async function externalizeOutputs(
  outputs: CellOutput[],
  store: BlobStore,
  inlineLimit: number,
  at: string,
): Promise<{ outputs: CellOutput[]; blobs: StoredBlob[] }> {
  const blobs: StoredBlob[] = [];
  const keep = async (bytes: Uint8Array, mediaType: string, encoding: BlobPointer['encoding']): Promise<BlobPointer> => {
    const ref = await store.put(bytes);
    blobs.push({ ...ref, mediaType });
    return { $blob: ref.sha256, size: ref.size, encoding };
  };
  const result: CellOutput[] = [];
  for (const [i, output] of outputs.entries()) {
    if (output.output_type === 'stream') {
      const bytes = Buffer.from(output.text, 'utf8');
      result.push(bytes.length > inlineLimit ? { ...output, text: (await keep(bytes, 'text/plain', 'utf8')) as never } : output);
      continue;
    }
    if (output.output_type !== 'execute_result' && output.output_type !== 'display_data') {
      result.push(output);
      continue;
    }
    const data: Record<string, unknown> = {};
    for (const [mime, raw] of Object.entries(output.data)) {
      const value = Array.isArray(raw) && raw.every((v) => typeof v === 'string') ? raw.join('') : raw;
      if (isBinaryMime(mime)) {
        if (typeof value !== 'string' || !BASE64.test(value)) {
          throw new DomainError('INVALID_INPUT', `${at}.outputs.${i}.data.${mime}: binary output must be a base64 string`);
        }
        data[mime] = await keep(Buffer.from(value, 'base64'), mime, 'base64');
      } else if (typeof value === 'string') {
        const bytes = Buffer.from(value, 'utf8');
        data[mime] = bytes.length > inlineLimit ? await keep(bytes, mime, 'utf8') : value;
      } else {
        const json = Buffer.from(JSON.stringify(value), 'utf8');
        data[mime] = json.length > inlineLimit ? await keep(json, mime, 'json') : value;
      }
    }
    result.push({ ...output, data });
  }
  return { outputs: result, blobs };
}
