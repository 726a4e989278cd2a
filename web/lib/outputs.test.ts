// Unit tests for blob pointers and MIME choice of notebook outputs.
import { describe, expect, it } from 'vitest';
import { blobUrl, decodeBlobText, formatBytes, imageSize, inlineImageSrc, isBlobPointer, normalizeValue, prettyJson, rankMimeTypes } from './outputs.ts';

const sha = 'a'.repeat(64);

describe('blob pointers', () => {
  it('recognises only well-formed pointers', () => {
    expect(isBlobPointer({ $blob: sha, size: 10, encoding: 'base64' })).toBe(true);
    expect(isBlobPointer({ $blob: sha, size: 10, encoding: 'utf8' })).toBe(true);
    expect(isBlobPointer({ $blob: sha, size: 10, encoding: 'json' })).toBe(true);
    // user data that merely looks similar stays data
    expect(isBlobPointer({ $blob: 'not-a-digest', size: 10, encoding: 'utf8' })).toBe(false);
    expect(isBlobPointer({ $blob: sha, size: '10', encoding: 'utf8' })).toBe(false);
    expect(isBlobPointer({ $blob: sha, size: 10, encoding: 'hex' })).toBe(false);
    expect(isBlobPointer([sha])).toBe(false);
    expect(isBlobPointer('iVBORw0KGgo=')).toBe(false);
    expect(isBlobPointer(null)).toBe(false);
  });

  it('builds the download URL with the run for access checks', () => {
    expect(blobUrl('1b4e28ba-2fa1-11d2-883f-0016d3cca427', { $blob: sha, size: 1, encoding: 'base64' })).toBe(
      `/api/blobs/${sha}?run=1b4e28ba-2fa1-11d2-883f-0016d3cca427`,
    );
  });

  it('turns fetched text back into the original value', () => {
    expect(decodeBlobText({ $blob: sha, size: 7, encoding: 'json' }, '{"a":[1]}')).toEqual({ a: [1] });
    expect(decodeBlobText({ $blob: sha, size: 7, encoding: 'utf8' }, '{"a":[1]}')).toBe('{"a":[1]}');
  });
});

describe('formatBytes', () => {
  it('uses binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(2.3 * 1024 * 1024)).toBe('2.3 MiB');
    expect(formatBytes(68_719_476_736)).toBe('64 GiB');
    expect(formatBytes(-1)).toBe('—');
  });
});

describe('rankMimeTypes', () => {
  it('prefers rich safe types and never picks script types', () => {
    const data = { 'text/plain': 'df', 'text/html': '<table/>', 'application/javascript': 'alert(1)', 'image/png': 'x' };
    expect(rankMimeTypes(data).map((r) => r.mime)).toEqual(['text/html', 'image/png', 'text/plain']);
  });

  it('falls back to text for widgets', () => {
    const data = { 'application/vnd.jupyter.widget-view+json': { model_id: 'x' }, 'text/plain': 'IntSlider()' };
    expect(rankMimeTypes(data)).toEqual([{ mime: 'text/plain', kind: 'text' }]);
  });

  it('offers JSON pretty-printed', () => {
    expect(rankMimeTypes({ 'application/json': { a: 1 } })).toEqual([{ mime: 'application/json', kind: 'json' }]);
    expect(prettyJson({ a: [1, 2] })).toBe('{\n  "a": [\n    1,\n    2\n  ]\n}');
    expect(prettyJson('{"a":1}')).toBe('{\n  "a": 1\n}');
    expect(prettyJson('not json')).toBe('not json');
  });
});

describe('inline values', () => {
  it('joins nbformat line arrays and leaves pointers alone', () => {
    expect(normalizeValue(['a\n', 'b'])).toBe('a\nb');
    const pointer = { $blob: sha, size: 1, encoding: 'utf8' };
    expect(normalizeValue(pointer)).toBe(pointer);
  });

  it('makes data URLs for inline images', () => {
    expect(inlineImageSrc('image/png', 'iVBO\nRw0K')).toBe('data:image/png;base64,iVBORw0K');
    expect(inlineImageSrc('image/svg+xml', '<svg a="1"/>')).toBe('data:image/svg+xml;charset=utf-8,%3Csvg%20a%3D%221%22%2F%3E');
  });

  it('reads size hints from metadata', () => {
    expect(imageSize({ 'image/png': { width: 300, height: 'x' } }, 'image/png')).toEqual({ width: 300 });
    expect(imageSize(undefined, 'image/png')).toEqual({});
  });
});
