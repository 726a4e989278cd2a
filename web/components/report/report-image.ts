// Images in reports: TipTap's image node, plus uploading files into the report (toolbar file
// picker, paste, drag and drop) as blobs of the report. The document stores the served path
// (/api/reports/<reportId>/images/<sha256>), so every co-editor sees the image; the shared
// page adds its link's token when it renders (never into the document). While a file uploads
// a local placeholder (a decoration: co-editors do not see it) marks where it will land.
import { type Attribute, Extension, mergeAttributes } from '@tiptap/core';
import Image, { type ImageOptions } from '@tiptap/extension-image';
import type { Node as PmNode } from '@tiptap/pm/model';
import { type EditorState, Plugin, PluginKey, type Transaction } from '@tiptap/pm/state';
import { Decoration, DecorationSet, type EditorView } from '@tiptap/pm/view';

export const UPLOADABLE_IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];
const OWN_IMAGE = /^\/api\/reports\/[0-9a-f-]{36}\/images\/[0-9a-f]{64}(?:\?.*)?$/i;

/** An image of ours as the shared page must ask for it; anything else unchanged. */
export function withShareToken(src: string | null, token: string | null): string | null {
  if (!src || !token || !OWN_IMAGE.test(src)) return src;
  return `${src.split('?')[0]}?share=${encodeURIComponent(token)}`;
}

/** A pasted image of ours without a share token (one must never end up in the document). */
export function withoutShareToken(src: string | null): string | null {
  if (!src) return src;
  try {
    // pasted HTML may carry the absolute form; ours are stored as paths
    const url = new URL(src, 'http://x');
    if (OWN_IMAGE.test(url.pathname)) return url.pathname;
  } catch {
    // not a URL at all: leave it to the image node
  }
  return src;
}

/** Why this file cannot be uploaded (judged by its declared type), or null to try. */
export function refusedFile(file: { name: string; type: string }): string | null {
  if (!file.type || UPLOADABLE_IMAGE_TYPES.includes(file.type)) return null;
  const what = file.type === 'image/svg+xml' ? 'SVG images are not accepted (they can carry script)' : `it is ${file.type}`;
  return `Could not upload ${file.name}: ${what}. Use a PNG, JPEG, GIF or WebP image.`;
}

/** POSTs the file's bytes; the served path, or an Error with the server's message. */
export async function uploadImageFile(reportId: string, file: File): Promise<string> {
  let res: Response;
  try {
    res = await fetch(`/api/reports/${reportId}/images`, {
      method: 'POST',
      // the server judges the type from the bytes; this only has to be an image's type
      headers: { 'content-type': file.type.startsWith('image/') ? file.type : 'application/octet-stream' },
      body: file,
      credentials: 'same-origin',
    });
  } catch {
    throw new Error('the server could not be reached');
  }
  const body = (await res.json().catch(() => null)) as { src?: string; error?: { message?: string } } | null;
  if (!res.ok || !body?.src) throw new Error(body?.error?.message ?? `the server answered ${res.status}`);
  return body.src;
}

interface UploadState {
  placeholders: DecorationSet;
  /** uploads started and not yet finished (a placeholder can vanish before its upload ends) */
  pending: number;
  /** the last failure, shown until the next upload starts or it is dismissed */
  error: string | null;
}

type UploadMeta =
  | { start: { id: object; pos: number; name: string }[]; refused: string | null }
  | { finish: object; error?: string; next?: number }
  | { dismiss: true };

export const imageUploadKey = new PluginKey<UploadState>('reportImageUpload');

function placeholderWidget(name: string): HTMLElement {
  const el = document.createElement('span');
  el.className = 'report-image-uploading';
  el.dataset.testid = 'image-uploading';
  el.setAttribute('role', 'status');
  el.textContent = `Uploading ${name}…`;
  return el;
}

export function imageUploadPlugin(): Plugin<UploadState> {
  return new Plugin<UploadState>({
    key: imageUploadKey,
    state: {
      init: () => ({ placeholders: DecorationSet.empty, pending: 0, error: null }),
      apply(tr, value): UploadState {
        let placeholders = value.placeholders.map(tr.mapping, tr.doc);
        let { pending, error } = value;
        const meta = tr.getMeta(imageUploadKey) as UploadMeta | undefined;
        if (meta && 'start' in meta) {
          const batch = {};
          const widgets = meta.start.map(({ id, pos, name }, i) =>
            // side keeps several files of one drop in order; id finds the placeholder again
            Decoration.widget(pos, () => placeholderWidget(name), { id, batch, name, side: i + 1 }),
          );
          placeholders = placeholders.add(tr.doc, widgets);
          pending += meta.start.length;
          error = meta.refused;
        } else if (meta && 'finish' in meta) {
          const [done] = placeholders.find(undefined, undefined, (spec) => spec.id === meta.finish);
          const batch: unknown = done?.spec.batch;
          if (done) placeholders = placeholders.remove([done]);
          if (batch && meta.next !== undefined) {
            // the rest of its files follow the image just placed, not the spot it took
            const rest = placeholders.find(undefined, undefined, (spec) => spec.batch === batch);
            // read before remove(), which empties the array it is given
            const moved = rest.map(({ spec }) => Decoration.widget(meta.next!, () => placeholderWidget(spec.name as string), spec));
            placeholders = placeholders.remove(rest).add(tr.doc, moved);
          }
          pending = Math.max(0, pending - 1);
          if (meta.error) error = meta.error;
        } else if (meta && 'dismiss' in meta) error = null;
        return { placeholders, pending, error };
      },
    },
    props: {
      decorations: (state) => imageUploadKey.getState(state)?.placeholders,
    },
  });
}

/** What the toolbar shows: uploads in flight, and the last failure. */
export function imageUploadStatus(state: EditorState): { pending: number; error: string | null } {
  const value = imageUploadKey.getState(state);
  return { pending: value?.pending ?? 0, error: value?.error ?? null };
}

export function dismissUploadError(view: Pick<EditorView, 'state' | 'dispatch'>) {
  view.dispatch(view.state.tr.setMeta(imageUploadKey, { dismiss: true } satisfies UploadMeta));
}

export interface PendingUpload {
  id: object;
  file: File;
}

/**
 * Marks where the files will land (on the caller's transaction, so commands can use it) and
 * returns what `completeUploads` needs. A file refused by its type is reported at once.
 */
export function startUploads(tr: Transaction, files: readonly File[], pos: number): PendingUpload[] {
  const refused = files.map(refusedFile).find(Boolean) ?? null;
  const accepted = files.filter((f) => !refusedFile(f)).map((file) => ({ id: {}, file }));
  const start = accepted.map(({ id, file }) => ({ id, pos, name: file.name }));
  tr.setMeta(imageUploadKey, { start, refused } satisfies UploadMeta);
  return accepted;
}

/** Uploads one file after another (so several land in order), each replacing its placeholder. */
export async function completeUploads(
  view: Pick<EditorView, 'state' | 'dispatch'> & { isDestroyed?: boolean },
  uploads: readonly PendingUpload[],
  upload: (file: File) => Promise<string>,
) {
  for (const { id, file } of uploads) {
    let src: string | null = null;
    let error: string | undefined;
    try {
      src = await upload(file);
    } catch (failure) {
      error = `Could not upload ${file.name}: ${(failure as Error).message}`;
    }
    if (view.isDestroyed) return;
    const tr = view.state.tr;
    const [placeholder] = imageUploadKey.getState(view.state)?.placeholders.find(undefined, undefined, (spec) => spec.id === id) ?? [];
    // no placeholder: what it sat in was deleted meanwhile (by anyone), so the image is not wanted there
    let next: number | undefined;
    if (src && placeholder) {
      tr.replaceRangeWith(placeholder.from, placeholder.from, imageNode(view.state, src, file.name));
      // where the inserted content ends (inside a split paragraph: where its second half starts)
      tr.mapping.maps.at(-1)?.forEach((_from, _to, _newFrom, newTo) => (next = newTo));
    }
    view.dispatch(tr.setMeta(imageUploadKey, { finish: id, ...(error ? { error } : {}), ...(next !== undefined ? { next } : {}) } satisfies UploadMeta));
  }
}

function imageNode(state: EditorState, src: string, name: string): PmNode {
  return state.schema.nodes.image!.create({ src, alt: name.replace(/\.[a-z0-9]+$/i, '') });
}

/** Paste and drop: the image files a transfer carries, when it is the files that are meant. */
export function transferredFiles(data: DataTransfer | null, kind: 'paste' | 'drop'): File[] {
  const files = Array.from(data?.files ?? []);
  if (!files.length) return [];
  // Word and spreadsheets put a picture of the copied text beside the text: keep the text
  if (kind === 'paste' && data?.getData('text/plain')) return [];
  return files;
}

export interface ReportImageOptions {
  /** where uploads go; null: no uploading (read-only views) */
  reportId: string | null;
  /** the shared page's token: our images are asked for with it */
  shareToken: string | null;
}

declare module '@tiptap/core' {
  interface Commands<ReturnType> {
    reportImageUpload: {
      /** uploads image files into the report at the selection */
      uploadImages: (files: readonly File[]) => ReturnType;
    };
  }
}

/** TipTap's image node, rendering our images with the share token when there is one. */
export const ReportImage = Image.extend<ReportImageOptions & ImageOptions>({
  addOptions() {
    return { ...this.parent!(), reportId: null, shareToken: null };
  },
  addAttributes() {
    const parent = (this.parent?.() ?? {}) as Record<string, Attribute>;
    return { ...parent, src: { ...parent.src, parseHTML: (el: HTMLElement) => withoutShareToken(el.getAttribute('src')) } };
  },
  renderHTML({ HTMLAttributes }) {
    const src = withShareToken(HTMLAttributes.src as string | null, this.options.shareToken);
    return ['img', mergeAttributes(this.options.HTMLAttributes ?? {}, { ...HTMLAttributes, src })];
  },
});

/** Uploading into the report: the command the toolbar uses, paste and drop of image files. */
export const ReportImageUpload = Extension.create<{ reportId: string | null }>({
  name: 'reportImageUpload',
  addOptions: () => ({ reportId: null }),
  addCommands() {
    return {
      uploadImages:
        (files) =>
        ({ tr, view, dispatch }) => {
          const { reportId } = this.options;
          if (!reportId || !files.length) return false;
          if (!dispatch) return true;
          const uploads = startUploads(tr, files, tr.selection.from);
          // after this command's transaction is applied
          queueMicrotask(() => void completeUploads(view, uploads, (f) => uploadImageFile(reportId, f)));
          return true;
        },
    };
  },
  addProseMirrorPlugins() {
    const { reportId } = this.options;
    if (!reportId) return [];
    const begin = (view: EditorView, files: File[], pos: number, tr: Transaction) => {
      const uploads = startUploads(tr, files, pos);
      view.dispatch(tr);
      void completeUploads(view, uploads, (f) => uploadImageFile(reportId, f));
    };
    return [
      imageUploadPlugin(),
      new Plugin({
        props: {
          handlePaste(view, event) {
            const files = transferredFiles(event.clipboardData, 'paste');
            if (!files.length || !view.editable) return false;
            const tr = view.state.tr.deleteSelection();
            begin(view, files, tr.selection.from, tr);
            return true;
          },
          handleDrop(view, event, _slice, moved) {
            const files = moved ? [] : transferredFiles(event.dataTransfer, 'drop');
            if (!files.length || !view.editable) return false;
            event.preventDefault();
            const at = view.posAtCoords({ left: event.clientX, top: event.clientY });
            begin(view, files, at?.pos ?? view.state.selection.from, view.state.tr);
            return true;
          },
        },
      }),
    ];
  },
});
