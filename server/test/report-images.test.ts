// Images uploaded into reports, over real HTTP: who may upload and read (members by role,
// share links of that report only, nobody else), type sniffing from the bytes, the size
// limit (declared and streamed), and that a refused upload stores nothing.
import { and, count, eq, reportImages } from '@cellmark/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Of } from '../src/blobs/store.ts';
import { loadEnv } from '../src/env.ts';
import { signUp, startTestServer, type TestServer, type TestUser, userWithProject } from './helpers.ts';

const MAX = 4096;
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
const WEBP = Buffer.from('UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==', 'base64');
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]), Buffer.from('JFIF\0'), Buffer.alloc(64, 7), Buffer.from([0xff, 0xd9])]);
const SVG = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)"><script>alert(1)</script></svg>');
/** a PNG signature followed by junk: sniffed as PNG, bigger than MAX */
const bigPng = (size: number) => Buffer.concat([PNG.subarray(0, 8), Buffer.alloc(size - 8, 1)]);

let server: TestServer;
let owner: Awaited<ReturnType<typeof userWithProject>>;
let editor: TestUser;
let viewer: TestUser;
let outsider: TestUser;

beforeAll(async () => {
  server = await startTestServer({ CELLMARK_MAX_IMAGE_BYTES: String(MAX) });
  owner = await userWithProject(server, 'owner');
  editor = await signUp(server, 'editor');
  viewer = await signUp(server, 'viewer');
  outsider = (await userWithProject(server, 'outsider')) as TestUser;
  await owner.api.teams.addMember.mutate({ teamId: owner.team.id, email: editor.email, role: 'editor' });
  await owner.api.teams.addMember.mutate({ teamId: owner.team.id, email: viewer.email, role: 'viewer' });
});
afterAll(() => server?.dispose());

const newReport = async (title = 'Pictures') => (await owner.api.reports.create.mutate({ projectId: owner.project.id, title })).id;

async function upload(reportId: string, body: Buffer | ReadableStream<Uint8Array>, who: { cookie?: string } | null, contentType = 'image/png') {
  const res = await fetch(`${server.url}/api/reports/${reportId}/images`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...(who?.cookie ? { cookie: who.cookie } : {}) },
    body,
    ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
  } as RequestInit);
  return { status: res.status, body: (await res.json()) as { src: string; sha256: string; size: number; mediaType: string; error?: { message: string } } };
}

const read = (path: string, who: { cookie?: string } | null, headers: Record<string, string> = {}, method = 'GET') =>
  fetch(`${server.url}${path}`, { method, headers: { ...(who?.cookie ? { cookie: who.cookie } : {}), ...headers } });

const rowsOf = async (reportId: string) =>
  (await server.database.db.select({ n: count() }).from(reportImages).where(eq(reportImages.reportId, reportId)))[0]!.n;

describe('uploading', () => {
  it('stores an image for a writer and serves it back with safe, immutable headers', async () => {
    const reportId = await newReport();
    const up = await upload(reportId, PNG, editor);
    expect(up.status).toBe(201);
    expect(up.body).toEqual({ src: `/api/reports/${reportId}/images/${sha256Of(PNG)}`, sha256: sha256Of(PNG), size: PNG.length, mediaType: 'image/png' });

    for (const who of [owner, editor, viewer]) {
      const res = await read(up.body.src, who);
      expect(res.status).toBe(200);
      expect(Buffer.compare(Buffer.from(await res.arrayBuffer()), PNG)).toBe(0);
      expect(res.headers.get('content-type')).toBe('image/png');
      expect(res.headers.get('content-length')).toBe(String(PNG.length));
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
    }
    const etag = (await read(up.body.src, viewer)).headers.get('etag')!;
    expect(etag).toBe(`"${sha256Of(PNG)}"`);
    expect((await read(up.body.src, viewer, { 'if-none-match': etag })).status).toBe(304);
    const head = await read(up.body.src, viewer, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(PNG.length));

    // the same image again is the same address and one row
    expect((await upload(reportId, PNG, owner)).body.src).toBe(up.body.src);
    expect(await rowsOf(reportId)).toBe(1);
    const [row] = await server.database.db.select().from(reportImages).where(eq(reportImages.reportId, reportId));
    expect(row).toMatchObject({ sha256: sha256Of(PNG), size: PNG.length, mediaType: 'image/png', uploadedBy: editor.id });
  });

  it('takes the type from the bytes, not from the request header', async () => {
    const reportId = await newReport();
    for (const [bytes, type] of [
      [PNG, 'image/png'],
      [GIF, 'image/gif'],
      [WEBP, 'image/webp'],
      [JPEG, 'image/jpeg'],
    ] as const) {
      // declared as something else on purpose
      const up = await upload(reportId, bytes, owner, 'application/octet-stream');
      expect(up, type).toMatchObject({ status: 201, body: { mediaType: type } });
      expect((await read(up.body.src, owner)).headers.get('content-type')).toBe(type);
    }
    expect((await upload(reportId, GIF, owner, 'image/jpeg')).body.mediaType).toBe('image/gif');
  });

  it('refuses SVG, non-images and empty bodies with a clear 400, storing nothing', async () => {
    const reportId = await newReport();
    for (const [bytes, type] of [
      [SVG, 'image/svg+xml'],
      [SVG, 'image/png'],
      [Buffer.from('hello'), 'image/png'],
      [Buffer.from('RIFF\0\0\0\0WAVEfmt '), 'image/webp'],
    ] as const) {
      const up = await upload(reportId, bytes, owner, type);
      expect(up.status).toBe(400);
      expect(up.body.error!.message).toBe('not a PNG, JPEG, GIF or WebP image (judged by its content; SVG is not accepted)');
      expect(await server.blobs.size(sha256Of(bytes))).toBeNull();
    }
    expect(await upload(reportId, Buffer.alloc(0), owner)).toMatchObject({ status: 400, body: { error: { message: 'the image is empty (0 bytes)' } } });
    expect(await rowsOf(reportId)).toBe(0);
  });

  it('refuses form posts (no cross-site form can upload on a signed-in user’s behalf)', async () => {
    const reportId = await newReport();
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const up = await upload(reportId, PNG, owner, type);
      expect(up.status, type).toBe(400);
      expect(up.body.error!.message).toMatch(/Content-Type image\/\*/);
    }
    expect(await rowsOf(reportId)).toBe(0);
  });

  it('refuses an image over CELLMARK_MAX_IMAGE_BYTES with 413 naming the limit, declared or streamed', async () => {
    const reportId = await newReport();
    const big = bigPng(MAX + 1);
    const declared = await upload(reportId, big, owner);
    expect(declared.status).toBe(413);
    expect(declared.body.error!.message).toBe('image is 4097 bytes, over the limit of 4096 bytes (CELLMARK_MAX_IMAGE_BYTES)');
    expect((await upload(reportId, bigPng(3 * MAX), owner)).body.error!.message).toBe('image is 12 KiB, over the limit of 4 KiB (CELLMARK_MAX_IMAGE_BYTES)');

    // no Content-Length: counted while it arrives
    const huge = bigPng(3 * MAX);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < huge.length; at += 1000) controller.enqueue(huge.subarray(at, at + 1000));
        controller.close();
      },
    });
    const streamed = await upload(reportId, stream, owner);
    expect(streamed.status).toBe(413);
    expect(streamed.body.error!.message).toBe('image is over the limit of 4 KiB (CELLMARK_MAX_IMAGE_BYTES)');

    for (const bytes of [big, huge]) expect(await server.blobs.size(sha256Of(bytes))).toBeNull();
    expect(await rowsOf(reportId)).toBe(0);
    // exactly at the limit is fine
    expect((await upload(reportId, bigPng(MAX), owner)).status).toBe(201);
  });

  it('lets only writers of that report upload', async () => {
    const reportId = await newReport();
    expect(await upload(reportId, PNG, null)).toMatchObject({ status: 401, body: { error: { message: 'sign in to upload images' } } });
    expect(await upload(reportId, PNG, viewer)).toMatchObject({
      status: 403,
      body: { error: { message: 'this needs write permission; your role in this team is viewer' } },
    });
    expect(await upload(reportId, PNG, outsider)).toMatchObject({ status: 403, body: { error: { message: 'you are not a member of this team' } } });
    expect((await upload('00000000-0000-4000-8000-000000000000', PNG, owner)).status).toBe(404);
    expect((await upload('not-a-report', PNG, owner)).status).toBe(400);
    expect(await rowsOf(reportId)).toBe(0);

    await owner.api.reports.delete.mutate({ reportId });
    expect((await upload(reportId, PNG, owner)).status).toBe(404);
  });
});

describe('reading', () => {
  it('is for members of the report’s team and holders of its own share links only', async () => {
    const a = await newReport('A');
    const b = await newReport('B');
    const { src } = (await upload(a, GIF, owner)).body;
    const shareA = await owner.api.reportShares.create.mutate({ reportId: a });
    const shareB = await owner.api.reportShares.create.mutate({ reportId: b });

    expect((await read(src, null)).status).toBe(401);
    expect((await read(src, outsider)).status).toBe(403);

    const shared = await read(`${src}?share=${shareA.token}`, null);
    expect(shared.status).toBe(200);
    expect(Buffer.compare(Buffer.from(await shared.arrayBuffer()), GIF)).toBe(0);
    // an outsider holding the link reads through the link, not their account
    expect((await read(`${src}?share=${shareA.token}`, outsider)).status).toBe(200);

    // report B's link does not open report A's images, under either report's path
    expect((await read(`${src}?share=${shareB.token}`, null)).status).toBe(403);
    const viaB = `/api/reports/${b}/images/${sha256Of(GIF)}`;
    expect((await read(`${viaB}?share=${shareB.token}`, null)).status).toBe(404);
    // nor does membership of B's team reach A's image through B's path
    expect((await read(viaB, owner)).status).toBe(404);

    expect((await read(`${src}?share=cms_made-up`, null)).status).toBe(401);
    await owner.api.reportShares.revoke.mutate({ reportId: a, shareId: shareA.id });
    expect((await read(`${src}?share=${shareA.token}`, null)).status).toBe(403);

    await owner.api.reports.delete.mutate({ reportId: a });
    expect((await read(src, owner)).status).toBe(404);
  });

  it('answers bad addresses and methods clearly', async () => {
    const reportId = await newReport();
    expect((await read(`/api/reports/${reportId}/images/not-a-digest`, owner)).status).toBe(400);
    expect((await read(`/api/reports/${reportId}/images/${'0'.repeat(64)}`, owner)).status).toBe(404);
    expect((await read(`/api/reports/${reportId}/images`, owner)).status).toBe(405);
    const del = await fetch(`${server.url}/api/reports/${reportId}/images/${sha256Of(PNG)}`, { method: 'DELETE', headers: { cookie: owner.cookie } });
    expect(del.status).toBe(405);
    const rows = await server.database.db
      .select()
      .from(reportImages)
      .where(and(eq(reportImages.reportId, reportId)));
    expect(rows).toEqual([]);
  });
});

describe('CELLMARK_MAX_IMAGE_BYTES', () => {
  it('defaults to 10 MiB and must be a positive integer', () => {
    expect(loadEnv({}).CELLMARK_MAX_IMAGE_BYTES).toBe(10 * 1024 * 1024);
    expect(loadEnv({ CELLMARK_MAX_IMAGE_BYTES: '2048' }).CELLMARK_MAX_IMAGE_BYTES).toBe(2048);
    expect(() => loadEnv({ CELLMARK_MAX_IMAGE_BYTES: '0' })).toThrow(/CELLMARK_MAX_IMAGE_BYTES/);
  });
});
