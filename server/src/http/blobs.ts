// GET /api/blobs/<sha256>?run=<runId>: an output blob of a run the signed-in user can read.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Database } from '@cellmark/db';
import { type Auth, sessionUser } from '../auth.ts';
import { type BlobStore, SHA256 } from '../blobs/store.ts';
import { DomainError, httpStatusOf } from '../domain/errors.ts';
import { requireRunBlob } from '../domain/runs.ts';
import { sendJson, UUID } from './respond.ts';

export function createBlobHandler({ auth, database, blobs }: { auth: Auth; database: Database; blobs: BlobStore }) {
  return async function serveBlob(req: IncomingMessage, res: ServerResponse, pathname: string) {
    const sha256 = pathname.slice('/api/blobs/'.length);
    const runId = new URL(req.url ?? '', 'http://x').searchParams.get('run') ?? '';
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: { message: 'blobs are read-only here' } });
    if (!SHA256.test(sha256) || !UUID.test(runId)) return sendJson(res, 400, { error: { message: 'expected /api/blobs/<sha256>?run=<runId>' } });
    try {
      const user = await sessionUser(auth, req.headers);
      if (!user) throw new DomainError('UNAUTHORIZED', 'sign in required');
      const blob = await requireRunBlob(database.db, { userId: user.id, via: 'session' }, runId, sha256);
      const stream = await blobs.open(sha256);
      if (!stream) throw new DomainError('NOT_FOUND', 'blob content is missing from the store');
      res.writeHead(200, {
        'content-type': blob.mediaType,
        'content-length': String(blob.size),
        // content-addressed: the bytes behind a digest never change
        'cache-control': 'private, max-age=31536000, immutable',
        'x-content-type-options': 'nosniff',
        // outputs are user content: never let a blob run script in our origin
        'content-security-policy': "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
      });
      if (req.method === 'HEAD') return res.end();
      stream.pipe(res);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      sendJson(res, httpStatusOf[error.code], { error: { message: error.message } });
    }
  };
}
