// Notebook outputs as the server stores them: which MIME type of a bundle to show, and values
// that moved to the blob store ({"$blob": sha256, size, encoding}) instead of staying inline.
// Pure; the components in components/run/ decide how each kind is drawn.

export interface BlobPointer {
  $blob: string;
  size: number;
  /** how the nbformat value was written: base64 (binary), utf8 (text) or json */
  encoding: 'base64' | 'utf8' | 'json';
}

const SHA256 = /^[0-9a-f]{64}$/;

export function isBlobPointer(value: unknown): value is BlobPointer {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.$blob === 'string' &&
    SHA256.test(v.$blob) &&
    typeof v.size === 'number' &&
    (v.encoding === 'base64' || v.encoding === 'utf8' || v.encoding === 'json')
  );
}

/** Served to signed-in readers of the run, with the stored content type. */
export function blobUrl(runId: string, pointer: BlobPointer): string {
  return `/api/blobs/${pointer.$blob}?run=${encodeURIComponent(runId)}`;
}

/** A fetched blob's text back to the value the output had: JSON blobs were stringified. */
export function decodeBlobText(pointer: BlobPointer, text: string): unknown {
  return pointer.encoding === 'json' ? JSON.parse(text) : text;
}

/** 512 B, 1.5 KiB, 2.3 MiB, 64 GiB */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${bytes} B`;
  const digits = value >= 100 || Number.isInteger(value) ? 0 : 1;
  return `${value.toFixed(digits).replace(/\.0$/, '')} ${units[unit]}`;
}

/** The kinds of output the run page can draw, safest useful first. */
export type OutputKind = 'html' | 'image' | 'markdown' | 'json' | 'latex' | 'text';

const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/svg+xml', 'image/bmp'];

/**
 * MIME types of a bundle in the order they are worth trying (as JupyterLab ranks them, minus
 * anything that needs JavaScript: widgets, application/javascript, plotly and friends are
 * only shown through their text fallbacks).
 */
export function rankMimeTypes(data: Record<string, unknown>): Array<{ mime: string; kind: OutputKind }> {
  const present = Object.keys(data);
  const ranked: Array<{ mime: string; kind: OutputKind }> = [];
  const take = (mime: string, kind: OutputKind) => {
    if (present.includes(mime)) ranked.push({ mime, kind });
  };
  take('text/html', 'html');
  take('text/markdown', 'markdown');
  take('text/latex', 'latex');
  for (const mime of IMAGE_TYPES) take(mime, 'image');
  take('application/json', 'json');
  for (const mime of present) if (mime.endsWith('+json') && !mime.includes('jupyter.widget') && isPlainJsonType(mime)) take(mime, 'json');
  take('text/plain', 'text');
  return ranked;
}

// vendor JSON that is meant as data, not as a program for a JavaScript renderer
const isPlainJsonType = (mime: string) => mime === 'application/geo+json';

/** nbformat allows strings as arrays of lines; blobs and other values pass through. */
export function normalizeValue(value: unknown): unknown {
  if (Array.isArray(value) && value.length && value.every((v) => typeof v === 'string')) return value.join('');
  return value;
}

/** An inline image value as a data: URL (base64 for binary types, text for SVG). */
export function inlineImageSrc(mime: string, value: string): string {
  if (mime === 'image/svg+xml') return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(value)}`;
  return `data:${mime};base64,${value.replace(/\s+/g, '')}`;
}

/** Width/height hints nbformat keeps in the output's metadata under the MIME type. */
export function imageSize(metadata: unknown, mime: string): { width?: number; height?: number } {
  if (!metadata || typeof metadata !== 'object') return {};
  const m = (metadata as Record<string, unknown>)[mime];
  if (!m || typeof m !== 'object') return {};
  const { width, height } = m as Record<string, unknown>;
  return {
    ...(typeof width === 'number' && width > 0 ? { width } : {}),
    ...(typeof height === 'number' && height > 0 ? { height } : {}),
  };
}

/** JSON for display: 2-space indentation; strings that are not JSON stay as they are. */
export function prettyJson(value: unknown): string {
  if (typeof value === 'string') {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  return JSON.stringify(value, null, 2) ?? String(value);
}
