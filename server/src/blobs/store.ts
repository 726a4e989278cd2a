// Content-addressed blob storage (sha256). Filesystem under the data dir by default; an
// S3-compatible store can implement the same interface. One contract suite tests them all.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';

export interface BlobRef {
  sha256: string;
  size: number;
}

export interface BlobStore {
  /** Stores bytes under their sha256; storing the same bytes twice is a no-op. */
  put(bytes: Uint8Array): Promise<BlobRef>;
  /** Size in bytes, or null when absent. */
  size(sha256: string): Promise<number | null>;
  /** The bytes as a stream, or null when absent. */
  open(sha256: string): Promise<Readable | null>;
  /** Deletes a blob (absent: nothing happens). Only for blobs nothing refers to. */
  remove(sha256: string): Promise<void>;
}

export const SHA256 = /^[0-9a-f]{64}$/;

export function sha256Of(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function createFsBlobStore(root: string): BlobStore {
  const where = (sha256: string) => {
    if (!SHA256.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return path.join(root, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  };
  return {
    async put(bytes) {
      const sha256 = sha256Of(bytes);
      const file = where(sha256);
      const existing = await stat(file).catch(() => null);
      if (existing?.size === bytes.length) return { sha256, size: bytes.length };
      await mkdir(path.dirname(file), { recursive: true });
      // write-then-rename: a crash never leaves a truncated blob under its final name
      const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        await writeFile(temp, bytes, { flush: true });
        await rename(temp, file);
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
      return { sha256, size: bytes.length };
    },
    async size(sha256) {
      if (!SHA256.test(sha256)) return null;
      return (await stat(where(sha256)).catch(() => null))?.size ?? null;
    },
    async open(sha256) {
      if (!SHA256.test(sha256)) return null;
      const file = where(sha256);
      if (!(await stat(file).catch(() => null))) return null;
      return createReadStream(file);
    },
    async remove(sha256) {
      if (SHA256.test(sha256)) await rm(where(sha256), { force: true });
    },
  };
}
