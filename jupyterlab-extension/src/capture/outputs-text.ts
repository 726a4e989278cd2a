// Text helpers for recorded outputs: UTF-8 sizes, caps on a character boundary
// with a marker, carriage-return collapsing, tolerant coercions.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function byteLength(text: string): number {
  return encoder.encode(text).length;
}

export function truncationMarker(omittedBytes: number): string {
  return `\n[… ${omittedBytes} more bytes not recorded by Cellmark]`;
}

/** The longest prefix of `text` within `maxBytes` of UTF-8, cut on a character boundary. */
export function utf8Prefix(text: string, maxBytes: number): string {
  const bytes = encoder.encode(text);
  if (bytes.length <= maxBytes) {
    return text;
  }
  // A cut through a multi-byte character decodes to U+FFFD: drop it.
  return decoder.decode(bytes.subarray(0, Math.max(0, maxBytes))).replace(/\uFFFD+$/, '');
}

/**
 * Cut `text` to at most `maxBytes` of UTF-8 plus a marker saying how much was cut
 * (`marker` replaces the default one; pass '' for none).
 */
export function limitText(text: string, maxBytes: number, marker?: string): string {
  const total = byteLength(text);
  if (total <= maxBytes) {
    return text;
  }
  const kept = utf8Prefix(text, maxBytes);
  return kept + (marker ?? truncationMarker(total - byteLength(kept)));
}

export function limitTraceback(frames: string[], maxBytes: number): string[] {
  const out: string[] = [];
  let used = 0;
  for (const [i, frame] of frames.entries()) {
    const size = byteLength(frame);
    if (used + size > maxBytes) {
      const rest = frames.slice(i).reduce((n, f) => n + byteLength(f), 0);
      out.push(`[… ${frames.length - i} more frames, ${rest} bytes, not recorded by Cellmark]`);
      break;
    }
    out.push(frame);
    used += size;
  }
  return out;
}

/** Collapse carriage-return overwrites ("progress 10%\rprogress 20%") per line. */
export function applyCarriageReturns(text: string): string {
  if (!text.includes('\r')) {
    return text;
  }
  return text
    .replace(/\r+\n/g, '\n')
    .split('\n')
    .map((line) => {
      const segments = line.split('\r');
      const last = segments.length - 1;
      // A trailing "\r" must survive: the next chunk will overwrite this line.
      const trailing = segments[last] === '' && last > 0;
      const parts = trailing ? segments.slice(0, last) : segments;
      const merged = parts.reduce((acc, seg) => seg + acc.slice(seg.length), '');
      return trailing ? `${merged}\r` : merged;
    })
    .join('\n');
}

export function asString(value: unknown): string {
  if (typeof value === 'string') {
    return value;
  }
  if (Array.isArray(value)) {
    return value.map(asString).join('');
  }
  return value === undefined || value === null ? '' : String(value);
}

export function asStringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.map(asString) : [];
}

export function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
