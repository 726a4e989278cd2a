// Images uploaded into reports: POST /api/reports/<reportId>/images (raw image bytes as the
// body) → 201 { src, sha256, size, mediaType }; GET|HEAD /api/reports/<reportId>/images/<sha256>
// [?share=<token>] → the image.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Database } from '@cellmark/db';
import { type Auth, sessionUser } from '../auth.ts';
import { type BlobStore, SHA256 } from '../blobs/store.ts';
import { DomainError, httpStatusOf } from '../domain/errors.ts';
import { imageTooLarge, requireImageUploader, requireReportImage, uploadReportImage } from '../domain/reports/images.ts';
import { readBytes } from './body.ts';
import { sendJson, UUID } from './respond.ts';

/** /api/reports/<reportId>/images and /api/reports/<reportId>/images/<sha256> */
const REPORT_IMAGES = /^\/api\/reports\/([^/]+)\/images(?:\/([^/]*))?\/?$/;
/** What an HTML form can send without a preflight: never accepted as an image upload (CSRF). */
const FORM_TYPES = /^(application\/x-www-form-urlencoded|multipart\/form-data|text\/plain)\b/i;

/** The report (and image, when there is one) a path names, or null when it is no image route. */
export function reportImagePath(pathname: string): { reportId: string; sha256: string | undefined } | null {
  const match = REPORT_IMAGES.exec(pathname);
  return match ? { reportId: match[1]!, sha256: match[2] } : null;
}

export function createReportImageHandler(deps: { auth: Auth; database: Database; blobs: BlobStore; maxImageBytes: number }) {
  const { auth, database, blobs } = deps;

  async function uploadImage(req: IncomingMessage, res: ServerResponse, reportId: string) {
    const max = deps.maxImageBytes;
    const declared = Number(req.headers['content-length'] ?? 0);
    // Refused before the body is read. A refused body a little over the limit is still read
    // and dropped (by Node) so that browsers, which report a reset mid-upload as a network
    // error, see our answer; a far larger one has its connection closed instead.
    if (declared > 4 * max) res.setHeader('connection', 'close');
    if (FORM_TYPES.test(req.headers['content-type'] ?? '')) {
      throw new DomainError('INVALID_INPUT', 'send the image bytes as the request body with Content-Type image/* (or application/octet-stream)');
    }
    const user = await sessionUser(auth, req.headers);
    if (!user) throw new DomainError('UNAUTHORIZED', 'sign in to upload images');
    const actor = { userId: user.id, via: 'session' as const };
    await requireImageUploader(database.db, actor, reportId);
    const bytes = await readBytes(req, max, (size, declared) => imageTooLarge(size, max, declared));
    const uploaded = await uploadReportImage(database.db, blobs, actor, reportId, bytes, max);
    sendJson(res, 201, uploaded);
  }

  return async function reportImage(req: IncomingMessage, res: ServerResponse, { reportId, sha256 }: { reportId: string; sha256: string | undefined }) {
    try {
      if (!UUID.test(reportId)) throw new DomainError('INVALID_INPUT', `not a report id: ${reportId}`);
      if (sha256 === undefined) {
        if (req.method !== 'POST') return sendJson(res, 405, { error: { message: 'POST an image here; read one at /api/reports/<reportId>/images/<sha256>' } });
        return await uploadImage(req, res, reportId);
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: { message: 'report images are read-only here' } });
      if (!SHA256.test(sha256)) throw new DomainError('INVALID_INPUT', 'expected /api/reports/<reportId>/images/<sha256>');
      const share = new URL(req.url ?? '', 'http://x').searchParams.get('share');
      let image: Awaited<ReturnType<typeof requireReportImage>>;
      if (share) image = await requireReportImage(database.db, { shareToken: share }, reportId, sha256);
      else {
        const user = await sessionUser(auth, req.headers);
        if (!user) throw new DomainError('UNAUTHORIZED', 'sign in, or open the report through its share link');
        image = await requireReportImage(database.db, { actor: { userId: user.id, via: 'session' } }, reportId, sha256);
      }
      const etag = `"${image.sha256}"`;
      const headers = {
        'content-type': image.mediaType,
        // content-addressed: the bytes behind a digest never change; private: access-checked
        'cache-control': 'private, max-age=31536000, immutable',
        etag,
        'x-content-type-options': 'nosniff',
        'content-security-policy': "default-src 'none'; sandbox",
      };
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, headers);
        return res.end();
      }
      const stream = await blobs.open(image.sha256);
      if (!stream) throw new DomainError('NOT_FOUND', 'image content is missing from the store');
      res.writeHead(200, { ...headers, 'content-length': String(image.size) });
      if (req.method === 'HEAD') {
        stream.destroy();
        return res.end();
      }
      stream.pipe(res);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      sendJson(res, httpStatusOf[error.code], { error: { message: error.message, code: error.code } });
    }
  };
}
