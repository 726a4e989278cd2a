// Uploading images into a report, on a real ProseMirror state with the report's schema: the
// placeholder follows edits made while the file uploads, failures say why, the share token
// is added when rendering and never stored.
import { getSchema } from '@tiptap/core';
import { EditorState, TextSelection } from '@tiptap/pm/state';
import StarterKit from '@tiptap/starter-kit';
import { describe, expect, it } from 'vitest';
import {
  completeUploads,
  imageUploadPlugin,
  imageUploadStatus,
  ReportImage,
  refusedFile,
  startUploads,
  transferredFiles,
  withoutShareToken,
  withShareToken,
} from './report-image.ts';

const REPORT = '0b8e3f6a-5f7e-4c41-9d6a-3b2f1c0d9e8a';
const SHA = 'a'.repeat(64);
const SRC = `/api/reports/${REPORT}/images/${SHA}`;

const schema = getSchema([StarterKit, ReportImage]);

/** an editor's state and dispatch, without the DOM */
function harness(text = 'hello world') {
  let state = EditorState.create({
    schema,
    doc: schema.node('doc', null, [schema.node('paragraph', null, schema.text(text))]),
    plugins: [imageUploadPlugin()],
  });
  return {
    get state() {
      return state;
    },
    dispatch: (tr: Parameters<typeof state.apply>[0]) => {
      state = state.apply(tr);
    },
  };
}

const png = (name = 'plot.png') => new File([new Uint8Array([0x89, 0x50])], name, { type: 'image/png' });
const images = (state: EditorState) => {
  const found: { src: string; alt: string; pos: number }[] = [];
  state.doc.descendants((node, pos) => {
    if (node.type.name === 'image') found.push({ src: node.attrs.src as string, alt: node.attrs.alt as string, pos });
  });
  return found;
};
/** a promise settled from outside, standing in for the network */
function deferred() {
  let resolve!: (src: string) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<string>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('uploading into the document', () => {
  it('shows a placeholder, follows edits made meanwhile, then puts the image there', async () => {
    const view = harness();
    const tr = view.state.tr;
    const uploads = startUploads(tr, [png()], 7); // after "hello "
    view.dispatch(tr);
    expect(imageUploadStatus(view.state)).toEqual({ pending: 1, error: null });

    const net = deferred();
    const done = completeUploads(view, uploads, () => net.promise);
    // someone types before the placeholder while the upload runs
    view.dispatch(view.state.tr.insertText('oh, ', 1));
    net.resolve(SRC);
    await done;

    expect(images(view.state)).toEqual([{ src: SRC, alt: 'plot', pos: expect.any(Number) }]);
    // the paragraph split where the placeholder was: "oh, hello " | image | "world"
    expect(view.state.doc.child(0).textContent).toBe('oh, hello ');
    expect(view.state.doc.lastChild!.textContent).toBe('world');
    expect(imageUploadStatus(view.state)).toEqual({ pending: 0, error: null });
  });

  it('keeps several files in order, at the end of a paragraph or in its middle', async () => {
    for (const [text, pos] of [
      ['x', 2],
      ['hello world', 7],
    ] as const) {
      const view = harness(text);
      const tr = view.state.tr;
      const uploads = startUploads(tr, [png('a.png'), png('b.png'), png('c.png')], pos);
      view.dispatch(tr);
      expect(imageUploadStatus(view.state).pending).toBe(3);
      await completeUploads(view, uploads, async (f) => `${SRC.slice(0, -1)}${f.name[0]}`);
      expect(
        images(view.state).map((i) => i.alt),
        text,
      ).toEqual(['a', 'b', 'c']);
      expect(view.state.doc.textContent).toBe(text);
      expect(imageUploadStatus(view.state).pending).toBe(0);
    }
  });

  it('says why an upload failed and leaves the document as it was', async () => {
    const view = harness();
    const before = view.state.doc;
    const tr = view.state.tr;
    const uploads = startUploads(tr, [png('huge.png')], 3);
    view.dispatch(tr);
    await completeUploads(view, uploads, () => Promise.reject(new Error('image is 12 MiB, over the limit of 10 MiB (CELLMARK_MAX_IMAGE_BYTES)')));
    expect(view.state.doc.eq(before)).toBe(true);
    expect(imageUploadStatus(view.state)).toEqual({
      pending: 0,
      error: 'Could not upload huge.png: image is 12 MiB, over the limit of 10 MiB (CELLMARK_MAX_IMAGE_BYTES)',
    });
    // the next upload clears it
    const again = view.state.tr;
    startUploads(again, [png()], 1);
    view.dispatch(again);
    expect(imageUploadStatus(view.state).error).toBeNull();
  });

  it('refuses SVG and non-images before uploading anything', async () => {
    const view = harness();
    const tr = view.state.tr;
    const uploads = startUploads(tr, [new File(['<svg/>'], 'logo.svg', { type: 'image/svg+xml' })], 1);
    view.dispatch(tr);
    expect(uploads).toEqual([]);
    expect(imageUploadStatus(view.state)).toEqual({
      pending: 0,
      error: 'Could not upload logo.svg: SVG images are not accepted (they can carry script). Use a PNG, JPEG, GIF or WebP image.',
    });
    // mixed: the image goes up, the refusal is still said
    const mixed = view.state.tr;
    expect(startUploads(mixed, [png(), new File(['%PDF'], 'paper.pdf', { type: 'application/pdf' })], 1)).toHaveLength(1);
    view.dispatch(mixed);
    expect(imageUploadStatus(view.state)).toEqual({ pending: 1, error: expect.stringMatching(/^Could not upload paper\.pdf: it is application\/pdf\./) });
  });

  it('drops the image when what held its placeholder was deleted meanwhile', async () => {
    const view = harness();
    const tr = view.state.tr;
    const uploads = startUploads(tr, [png()], 7);
    view.dispatch(tr);
    const net = deferred();
    const done = completeUploads(view, uploads, () => net.promise);
    view.dispatch(view.state.tr.delete(1, view.state.doc.content.size - 1));
    net.resolve(SRC);
    await done;
    expect(images(view.state)).toEqual([]);
    expect(imageUploadStatus(view.state).pending).toBe(0);
  });

  it('does not touch a closed editor', async () => {
    const view = { ...harness(), isDestroyed: false };
    const tr = view.state.tr.setSelection(TextSelection.create(view.state.doc, 2));
    const uploads = startUploads(tr, [png()], 2);
    view.dispatch(tr);
    const net = deferred();
    const done = completeUploads(view, uploads, () => net.promise);
    view.isDestroyed = true;
    let dispatched = 0;
    view.dispatch = () => void dispatched++;
    net.resolve(SRC);
    await done;
    expect(dispatched).toBe(0);
  });
});

describe('share tokens', () => {
  it('are added to our images when the shared page renders them, nowhere else', () => {
    expect(withShareToken(SRC, 'cms_abc+/=')).toBe(`${SRC}?share=cms_abc%2B%2F%3D`);
    expect(withShareToken(SRC, null)).toBe(SRC);
    expect(withShareToken('https://example.com/cat.png', 'cms_abc')).toBe('https://example.com/cat.png');
    expect(withShareToken(`/api/reports/${REPORT}/images/not-a-digest`, 'cms_abc')).toBe(`/api/reports/${REPORT}/images/not-a-digest`);

    const shared = getSchema([StarterKit, ReportImage.configure({ shareToken: 'cms_t' })]);
    const toDom = (s: typeof schema, src: string) => s.nodes.image!.spec.toDOM!(s.nodes.image!.create({ src })) as [string, Record<string, string>];
    expect(toDom(shared, SRC)[1].src).toBe(`${SRC}?share=cms_t`);
    expect(toDom(schema, SRC)[1].src).toBe(SRC);
  });

  it('are stripped from pasted images of ours', () => {
    expect(withoutShareToken(`${SRC}?share=cms_t`)).toBe(SRC);
    expect(withoutShareToken(`https://cellmark.example.com${SRC}?share=cms_t`)).toBe(SRC);
    expect(withoutShareToken('https://example.com/cat.png?share=1')).toBe('https://example.com/cat.png?share=1');
  });
});

describe('which files', () => {
  it('are refused by their declared type', () => {
    expect(refusedFile({ name: 'a.png', type: 'image/png' })).toBeNull();
    expect(refusedFile({ name: 'a.webp', type: 'image/webp' })).toBeNull();
    // unknown type: the server judges the bytes
    expect(refusedFile({ name: 'scan', type: '' })).toBeNull();
    expect(refusedFile({ name: 'a.tiff', type: 'image/tiff' })).toMatch(/it is image\/tiff/);
  });

  it('a paste means: files alone, but text when text comes with them', () => {
    const transfer = (files: File[], text = '') => ({ files, getData: (t: string) => (t === 'text/plain' ? text : '') }) as unknown as DataTransfer;
    expect(transferredFiles(transfer([png()]), 'paste')).toHaveLength(1);
    expect(transferredFiles(transfer([png()], 'a table from a spreadsheet'), 'paste')).toEqual([]);
    expect(transferredFiles(transfer([png()], 'dragged with text'), 'drop')).toHaveLength(1);
    expect(transferredFiles(transfer([]), 'drop')).toEqual([]);
    expect(transferredFiles(null, 'paste')).toEqual([]);
  });
});
