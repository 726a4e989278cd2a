// The one HTTP server: tRPC, auth, health, metrics, blobs and report images, the collab
// websocket and the web UI, all on one port. Built from already-open dependencies so tests
// can start it on port 0. The routes with more to them than a few lines (blobs.ts,
// report-images.ts) and the run sweeps (../run-sweeps.ts) live in their own modules.
import { existsSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type Socket } from 'node:net';
import path from 'node:path';
import type { Database } from '@cellmark/db';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { toNodeHandler } from 'better-auth/node';
import compression from 'compression';
import { type Auth, CLIENT_IP_HEADER } from '../auth.ts';
import type { BlobStore } from '../blobs/store.ts';
import { attachCollab, type Collab } from '../collab/server.ts';
import { DomainError, httpStatusOf } from '../domain/errors.ts';
import { createPostgresReportStore, type ReportStore } from '../domain/reports/store.ts';
import type { Env } from '../env.ts';
import type { Logger } from '../logger.ts';
import { startRunSweeps } from '../run-sweeps.ts';
import { createContextFactory } from '../trpc/init.ts';
import { appRouter } from '../trpc/router.ts';
import { createBlobHandler } from './blobs.ts';
import { handOverJson, JsonDepth, MAX_JSON_DEPTH, readBody } from './body.ts';
import { clientAddress, trustedProxies } from './client-address.ts';
import { createMetrics, metricsAuthorized, routeFamily } from './metrics.ts';
import { createReportImageHandler, reportImagePath } from './report-images.ts';
import { assignRequestId, internalErrorMessage, requestIdOf } from './request-id.ts';
import { sendJson } from './respond.ts';
import { isStorageUnavailable, RETRY_AFTER_SECONDS, unavailableMessage } from './unavailable.ts';

export interface AppOptions {
  env: Env;
  logger: Logger;
  database: Database;
  auth: Auth;
  blobs: BlobStore;
  /** replaces the Postgres report store (tests wrap it to observe ordering) */
  reportStore?: ReportStore;
}

export interface CellmarkServer {
  server: http.Server;
  /** http://host:port once listening */
  url: string;
  collab: Collab;
  close(): Promise<void>;
}

type NextRequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export function webDir(): string {
  // beside server/ in the repository; not a package dependency, or web (which takes the
  // router's type from here) and server would depend on each other
  return path.resolve(import.meta.dirname, '../../../web');
}

export async function startServer(options: AppOptions): Promise<CellmarkServer> {
  const { env, logger, database, auth, blobs } = options;
  const metrics = createMetrics();
  const proxies = trustedProxies(env.CELLMARK_TRUSTED_PROXIES);
  const server = http.createServer();
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  // one store for the collab rooms and for the API (share links read their report's charts)
  const reportStore = options.reportStore ?? createPostgresReportStore(database.db, { logger });
  const collab = attachCollab(server, {
    database,
    auth,
    logger,
    metrics,
    store: reportStore,
    reauthorizeMs: env.CELLMARK_COLLAB_REAUTH_MS,
    compactUpdates: env.CELLMARK_REPORT_COMPACT_UPDATES,
    compactBytes: env.CELLMARK_REPORT_COMPACT_BYTES,
    versionQuietMs: env.CELLMARK_REPORT_VERSION_QUIET_MS,
    // Next answers its own upgrades only in dev (HMR, under /_next/); nobody else does
    leaveUpgrade: env.CELLMARK_DEV && !env.CELLMARK_NO_WEB ? (pathname: string) => pathname.startsWith('/_next/') : undefined,
  });
  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: '/api/trpc/',
    createContext: createContextFactory({ database, auth, env, logger, blobs, reportDocs: collab.docs, reportStore }),
    // a 503 (storage down or full) says when to come back
    responseMeta: ({ errors }) => (errors.some((e) => e.code === 'SERVICE_UNAVAILABLE') ? { headers: { 'retry-after': String(RETRY_AFTER_SECONDS) } } : {}),
    onError: ({ error, path: procedure, req }) => {
      if (error.code === 'INTERNAL_SERVER_ERROR') logger.error({ err: error, procedure, requestId: requestIdOf(req) }, 'tRPC error');
    },
  });
  const authHandler = toNodeHandler(auth);
  const serveBlob = createBlobHandler({ auth, database, blobs });
  const reportImage = createReportImageHandler({ auth, database, blobs, maxImageBytes: env.CELLMARK_MAX_IMAGE_BYTES });
  // zlib level 1: a 100-run chart (7.5 MB of JSON) gzips in ~105 ms to 3.2 MB; the default
  // level 6 took ~350 ms for 3.1 MB, most of the request's time
  const compress = compression({ threshold: 8 * 1024, level: 1 });

  // Next prepares while the server already listens: the API, ingest and /healthz answer at
  // once, and a page request waits for it (~0.7 s of a start). A missing build is still a
  // start-up error.
  let next: Promise<{ handle: NextRequestHandler; close: () => Promise<void> }> | null = null;
  if (!env.CELLMARK_NO_WEB) {
    const dev = env.CELLMARK_DEV;
    if (!dev && !existsSync(path.join(webDir(), '.next', 'BUILD_ID'))) {
      throw new Error(`the web UI is not built (${webDir()}/.next is missing): run "npm run build" first, or start with CELLMARK_DEV=1`);
    }
    next = import('next').then(async ({ default: createNext }) => {
      const app = createNext({ dev, dir: webDir(), hostname: 'localhost', port: env.PORT, httpServer: server });
      await app.prepare();
      return { handle: app.getRequestHandler() as NextRequestHandler, close: () => app.close() };
    });
    // a failure answers each page request with an internal error; logged once here
    next.catch((error: unknown) => logger.error({ err: error }, 'the web UI failed to start'));
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const started = process.hrtime.bigint();
    const requestId = assignRequestId(req, res);
    const pathname = (req.url ?? '/').split('?')[0]!;
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.httpRequests.observe({ ...routeFamily(pathname, req.method), status: String(res.statusCode) }, seconds);
    });
    route(req, res, pathname).catch((error: unknown) => {
      if (res.headersSent) {
        logger.error({ err: error, path: pathname, requestId }, 'request failed');
        return res.destroy();
      }
      if (isStorageUnavailable(error)) {
        logger.warn({ err: error, path: pathname, requestId }, 'request failed: storage unavailable');
        res.setHeader('retry-after', String(RETRY_AFTER_SECONDS));
        return sendJson(res, 503, { error: { message: unavailableMessage(requestId) } });
      }
      logger.error({ err: error, path: pathname, requestId }, 'request failed');
      sendJson(res, 500, { error: { message: internalErrorMessage(requestId) } });
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse, pathname: string) {
    if (pathname === '/healthz') {
      // The extension asks it from JupyterLab's origin while the server is unreachable, to
      // send what waited as soon as it is back; it says nothing that is not public.
      res.setHeader('access-control-allow-origin', '*');
      try {
        await database.ping();
        return sendJson(res, 200, { status: 'ok', database: database.kind });
      } catch (error) {
        // anyone may ask: the driver's message (host, user, SQL) stays in the log
        logger.warn({ err: error, requestId: requestIdOf(req) }, 'health check: database unavailable');
        return sendJson(res, 503, { status: 'unavailable', database: database.kind, error: 'database unavailable' });
      }
    }
    if (pathname === '/metrics') {
      if (!metricsAuthorized(req, env.CELLMARK_METRICS_TOKEN)) {
        res.setHeader('www-authenticate', 'Bearer');
        return sendJson(res, 401, { error: { message: 'send "Authorization: Bearer <CELLMARK_METRICS_TOKEN>"' } });
      }
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      return res.end(await metrics.registry.metrics());
    }
    if (pathname.startsWith('/api/auth/')) {
      // better-auth rate-limits sign-in per client address, which it reads from a header;
      // set it ourselves (the socket, or a trusted proxy's X-Forwarded-For) so a client
      // cannot choose its own bucket.
      req.headers[CLIENT_IP_HEADER] = clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], proxies);
      return authHandler(req, res);
    }
    if (pathname.startsWith('/api/trpc/')) {
      // Chart series and run pages are large JSON (a 100-run chart is megabytes): gzip them.
      await new Promise<void>((resolve) => compress(req as never, res as never, () => resolve()));
      return handleTrpc(req, res, pathname);
    }
    if (pathname.startsWith('/api/blobs/')) return serveBlob(req, res, pathname);
    const image = reportImagePath(pathname);
    if (image) return reportImage(req, res, image);
    if (next !== null) {
      // server components ask the API back over the connection the page came in on
      req.headers[SELF_ORIGIN_HEADER] = selfOrigin(req.socket);
      return (await next).handle(req, res);
    }
    return sendJson(res, 404, { error: { message: `no route for ${pathname}` } });
  }

  async function handleTrpc(req: IncomingMessage, res: ServerResponse, pathname: string) {
    const procedures = pathname.slice('/api/trpc/'.length).split(',');
    // The extension runs on JupyterLab's origin and authenticates with a bearer token
    // (never cookies), so ingest may be called cross-origin; nothing else may.
    if (procedures.every((p) => p.startsWith('ingest.'))) {
      res.setHeader('access-control-allow-origin', '*');
      res.setHeader('access-control-allow-headers', 'authorization, content-type');
      res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
      res.setHeader('access-control-max-age', '600');
      if (req.method === 'OPTIONS') {
        res.writeHead(204);
        return res.end();
      }
    }
    try {
      const query = req.method === 'GET' ? new URL(req.url ?? '', 'http://x').searchParams.get('input') : null;
      if (query) new JsonDepth(MAX_JSON_DEPTH).feedText(query);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return sendJson(res, 400, { error: { message: error.message, code: -32600, data: { code: 'BAD_REQUEST', httpStatus: 400, path: procedures[0] } } });
    }
    if (req.method === 'POST') {
      try {
        const text = await readBody(req, env.CELLMARK_MAX_BODY_BYTES);
        const json = /^application\/json\b/i.test(req.headers['content-type'] ?? '');
        if (json && !new URL(req.url ?? '', 'http://x').searchParams.has('batch')) await handOverJson(req, text);
        else (req as IncomingMessage & { body?: string }).body = text;
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        const status = httpStatusOf[error.code];
        const code = status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST';
        res.setHeader('connection', 'close');
        return sendJson(res, status, { error: { message: error.message, code: -32600, data: { code, httpStatus: status, path: procedures[0] } } });
      }
    }
    return trpc(req, res);
  }

  const stopSweeps = startRunSweeps(database.db, env, logger);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(env.PORT, env.HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : env.PORT;
  const url = `http://${env.HOST === '0.0.0.0' || env.HOST === '::' ? 'localhost' : env.HOST}:${port}`;

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      stopSweeps();
      // Stop accepting; let in-flight requests finish; then end long-lived sockets.
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      // keep-alive connections become idle as their last request finishes
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      server.closeIdleConnections();
      await collab.close();
      const grace = new Promise<void>((resolve) => setTimeout(resolve, env.CELLMARK_SHUTDOWN_GRACE_MS).unref());
      await Promise.race([drained, grace]);
      clearInterval(sweep);
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await drained;
      await next?.then((web) => web.close()).catch(() => {});
    })());

  return { server, url, collab, close };
}

/** Named the same in web/lib/server-api.ts; whatever a client sent under it is replaced. */
const SELF_ORIGIN_HEADER = 'x-cellmark-self-origin';

/** This server as seen from the socket a request arrived on (always reachable from here). */
function selfOrigin(socket: Socket): string {
  const host = socket.localAddress ?? '127.0.0.1';
  return `http://${net.isIPv6(host) ? `[${host}]` : host}:${socket.localPort}`;
}
