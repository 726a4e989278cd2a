import { describe, expect, it } from 'vitest';
import { formatBytes, sniffImageType } from './images.ts';

const b64 = (s: string) => Uint8Array.from(Buffer.from(s, 'base64'));

describe('sniffImageType', () => {
  it('knows png, jpeg, gif and webp by their bytes', () => {
    expect(sniffImageType(b64('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='))).toBe('image/png');
    expect(sniffImageType(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46]))).toBe('image/jpeg');
    expect(sniffImageType(b64('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7'))).toBe('image/gif');
    expect(sniffImageType(Buffer.from('GIF87a\x01\x00\x01\x00', 'latin1'))).toBe('image/gif');
    expect(sniffImageType(b64('UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA=='))).toBe('image/webp');
  });

  it('refuses everything else, SVG and look-alikes included', () => {
    const refused = [
      '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
      '<?xml version="1.0"?><svg/>',
      '<html><img src=x onerror=alert(1)></html>',
      'RIFF\x00\x00\x00\x00WAVEfmt ', // RIFF, but audio
      '\x89PNG\r\n', // truncated signature
      'GIF88a',
      '',
    ];
    for (const text of refused) expect(sniffImageType(Buffer.from(text, 'latin1')), JSON.stringify(text)).toBeNull();
    expect(sniffImageType(Uint8Array.from([0xff, 0xd8]))).toBeNull();
  });
});

describe('formatBytes', () => {
  it('names limits the way people read them', () => {
    expect(formatBytes(10 * 1024 * 1024)).toBe('10 MiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(1000)).toBe('1000 bytes');
  });
});
