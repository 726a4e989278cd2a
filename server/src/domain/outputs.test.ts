import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type BlobStore, createFsBlobStore } from '../blobs/store.ts';
import { externalizeOutputs, isBase64, isBinaryMime } from './outputs.ts';

let store: BlobStore;
beforeAll(async () => {
  store = createFsBlobStore(await mkdtemp(path.join(tmpdir(), 'cellmark-outputs-')));
});

const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

describe('externalizeOutputs', () => {
  it('moves images into blobs and keeps small text inline', async () => {
    const { outputs, blobs } = await externalizeOutputs(
      [{ output_type: 'display_data', data: { 'image/png': png.toString('base64'), 'text/plain': '<Figure>' } }],
      store,
      1024,
      'cells.0',
    );
    const data = (outputs[0] as { data: Record<string, { $blob: string; size: number; encoding: string }> }).data;
    expect(data['text/plain']).toBe('<Figure>');
    expect(data['image/png']).toMatchObject({ size: png.length, encoding: 'base64' });
    expect(blobs).toEqual([{ sha256: data['image/png']!.$blob, size: png.length, mediaType: 'image/png' }]);
    expect(Buffer.compare(await buffer((await store.open(data['image/png']!.$blob))!), png)).toBe(0);
  });

  it('moves text and streams over the inline limit, joining nbformat line lists', async () => {
    const long = 'x'.repeat(2000);
    const { outputs, blobs } = await externalizeOutputs(
      [
        { output_type: 'stream', name: 'stdout', text: long },
        { output_type: 'execute_result', data: { 'text/html': [long.slice(0, 1000), long.slice(1000)] as never }, execution_count: 1 },
      ],
      store,
      1024,
      'cells.0',
    );
    expect((outputs[0] as { text: unknown }).text).toMatchObject({ size: 2000, encoding: 'utf8' });
    expect((outputs[1] as { data: Record<string, unknown> }).data['text/html']).toMatchObject({ size: 2000, encoding: 'utf8' });
    expect(blobs.map((b) => b.mediaType)).toEqual(['text/plain', 'text/html']);
  });

  it('names the field of a binary value that is not base64', async () => {
    await expect(externalizeOutputs([{ output_type: 'display_data', data: { 'image/png': { not: 'base64' } } }], store, 1024, 'cells.3')).rejects.toThrow(
      'cells.3.outputs.0.data.image/png: binary output must be a base64 string',
    );
  });

  it('checks base64 in linear time, accepting exactly what nbformat base64 is', () => {
    const started = performance.now();
    expect(isBase64(`${' '.repeat(8 * 1024 * 1024)}!`)).toBe(false); // the old pattern: hours
    expect(performance.now() - started).toBeLessThan(500);
    // the pattern it replaces, on short strings where backtracking is cheap
    const reference = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;
    const alphabet = fc.constantFrom(...'Aa0+/= \n\t\r!-_\u00a0\u2028é'.split(''));
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 30 }), (s) => isBase64(s) === reference.test(s)),
      { numRuns: 2000 },
    );
  });

  it('names the output whose MIME key has control characters', async () => {
    await expect(externalizeOutputs([{ output_type: 'display_data', data: { 'image/png\r\nx': 'AAAA' } }], store, 1024, 'cells.1')).rejects.toThrow(
      'cells.1.outputs.0.data: MIME type "image/png\\r\\nx" must be 1–255 visible ASCII characters',
    );
  });

  it('knows binary from text MIME types', () => {
    expect(['image/png', 'image/jpeg', 'application/pdf'].every(isBinaryMime)).toBe(true);
    expect(['text/html', 'image/svg+xml', 'application/json', 'application/vnd.plotly.v1+json', 'text/latex'].some(isBinaryMime)).toBe(false);
  });
});
