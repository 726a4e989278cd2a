// Images uploaded into reports: the bytes are a content-addressed blob, a report_images row
// ties the blob to its report. Writers upload; whoever can read the report (a member, or a
// holder of one of its share links) reads. The type comes from the bytes, never the client.
import { and, type Db, eq, reportImages } from '@cellmark/db';
import type { BlobStore } from '../../blobs/store.ts';
import { DomainError } from '../errors.ts';
import { type Actor, requireReport } from '../policy.ts';
import { shareAccess } from './shares.ts';

export const reportImageTypes = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;
export type ReportImageType = (typeof reportImageTypes)[number];

const startsWith = (bytes: Uint8Array, prefix: readonly number[], at = 0) => bytes.length >= at + prefix.length && prefix.every((b, i) => bytes[at + i] === b);
const ascii = (text: string) => [...text].map((c) => c.charCodeAt(0));

/**
 * The image type the bytes are, by their magic numbers; null for anything else (SVG among
 * them: it can carry script, so it is never accepted whatever it is called).
 */
export function sniffImageType(bytes: Uint8Array): ReportImageType | null {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(bytes, ascii('GIF87a')) || startsWith(bytes, ascii('GIF89a'))) return 'image/gif';
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) return 'image/webp';
  return null;
}

/** Where an uploaded image is served; this relative path is what the report document stores. */
export function reportImagePath(reportId: string, sha256: string) {
  return `/api/reports/${reportId}/images/${sha256}`;
}

/** "10 MiB" for the messages that name the limit. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${Number(value.toFixed(1))} ${units[unit]}`;
}

/** The 413 for an image over the limit; `known`: `size` is the whole image's, not a part's. */
export function imageTooLarge(size: number, maxBytes: number, known = true) {
  let [is, limit] = [formatBytes(size), formatBytes(maxBytes)];
  // 10485761 bytes would read "10 MiB, over the limit of 10 MiB"
  if (is === limit) [is, limit] = [`${size} bytes`, `${maxBytes} bytes`];
  return new DomainError('PAYLOAD_TOO_LARGE', `image is ${known ? `${is}, ` : ''}over the limit of ${limit} (CELLMARK_MAX_IMAGE_BYTES)`);
}

/** Checked before the body is read, so a refused upload is never buffered. */
export async function requireImageUploader(db: Db, actor: Actor, reportId: string) {
  await requireReport(db, actor, reportId, 'write');
}

/**
 * Stores the image and ties it to the report. The blob store writes atomically (a failed
 * upload leaves no partial blob) and the row is added only once the bytes are stored; the
 * same image uploaded twice into a report is one row.
 */
export async function uploadReportImage(db: Db, blobs: BlobStore, actor: Actor, reportId: string, bytes: Uint8Array, maxBytes: number) {
  await requireImageUploader(db, actor, reportId);
  if (bytes.length > maxBytes) throw imageTooLarge(bytes.length, maxBytes);
  if (bytes.length === 0) throw new DomainError('INVALID_INPUT', 'the image is empty (0 bytes)');
  const mediaType = sniffImageType(bytes);
  if (!mediaType) {
    throw new DomainError('INVALID_INPUT', 'not a PNG, JPEG, GIF or WebP image (judged by its content; SVG is not accepted)');
  }
  const { sha256, size } = await blobs.put(bytes);
  await db.insert(reportImages).values({ reportId, sha256, size, mediaType, uploadedBy: actor.userId }).onConflictDoNothing();
  return { src: reportImagePath(reportId, sha256), sha256, size, mediaType };
}

/** Who reads: a signed-in user, or a share link's token (which opens only its own report). */
export type ImageReader = { actor: Actor } | { shareToken: string };

export async function requireReportImage(db: Db, reader: ImageReader, reportId: string, sha256: string) {
  if ('shareToken' in reader) await shareAccess(db, reader.shareToken, reportId);
  else await requireReport(db, reader.actor, reportId, 'read');
  const [image] = await db
    .select()
    .from(reportImages)
    .where(and(eq(reportImages.reportId, reportId), eq(reportImages.sha256, sha256)));
  if (!image) throw new DomainError('NOT_FOUND', 'no such image in this report');
  return image;
}
