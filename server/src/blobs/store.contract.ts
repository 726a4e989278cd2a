// The BlobStore contract: every implementation runs this suite (see *.test.ts beside it).
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { type BlobStore, sha256Of } from './store.ts';

export function blobStoreContract(name: string, make: () => Promise<BlobStore>) {
  describe(`BlobStore contract: ${name}`, () => {
    it('stores bytes under their sha256 and reads them back', async () => {
      const store = await make();
      const bytes = new TextEncoder().encode('hello blobs');
      const ref = await store.put(bytes);
      expect(ref).toEqual({ sha256: sha256Of(bytes), size: bytes.length });
      expect(await store.size(ref.sha256)).toBe(bytes.length);
      expect(await text((await store.open(ref.sha256))!)).toBe('hello blobs');
    });

    it('is idempotent', async () => {
      const store = await make();
      const bytes = new Uint8Array([1, 2, 3, 4]);
      expect(await store.put(bytes)).toEqual(await store.put(bytes));
    });

    it('answers null for unknown and malformed digests', async () => {
      const store = await make();
      expect(await store.size('0'.repeat(64))).toBeNull();
      expect(await store.open('0'.repeat(64))).toBeNull();
      expect(await store.open('../../etc/passwd')).toBeNull();
    });

    it('removes a blob, and removing an absent one is a no-op', async () => {
      const store = await make();
      const ref = await store.put(new TextEncoder().encode('short-lived'));
      await store.remove(ref.sha256);
      expect(await store.size(ref.sha256)).toBeNull();
      await store.remove(ref.sha256);
      await store.remove('not-a-digest');
    });

    it('stores empty and large blobs', async () => {
      const store = await make();
      expect((await store.put(new Uint8Array())).size).toBe(0);
      const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
      const ref = await store.put(big);
      expect(await store.size(ref.sha256)).toBe(big.length);
    });
  });
}
