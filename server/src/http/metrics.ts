// Prometheus metrics, one registry per server instance (tests start several).
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { appRouter } from '../trpc/router.ts';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Histogram({
      name: 'cellmark_http_request_duration_seconds',
      help: 'HTTP requests by route family and status',
      labelNames: ['route', 'method', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    collabConnections: new Counter({
      name: 'cellmark_collab_connections_total',
      help: 'Accepted report websocket connections',
      labelNames: ['access'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** tRPC procedures by path (`ingest.cells`): the only tRPC names a label may carry. */
const procedures = new Set(Object.keys(appRouter._def.procedures));
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Low-cardinality labels: never ids, never what a caller made up (3,000 requests to invented
 * tRPC paths grew /metrics from 204 KB to 13 MB when the path was the label).
 */
export function routeFamily(pathname: string, method = ''): { route: string; method: string } {
  return { route: routeOf(pathname), method: METHODS.has(method) ? method : 'other' };
}

function routeOf(pathname: string): string {
  if (pathname.startsWith('/api/trpc/')) {
    const procedure = pathname.slice('/api/trpc/'.length).split(',')[0]!;
    return `trpc:${procedures.has(procedure) ? procedure : 'unknown'}`;
  }
  if (pathname.startsWith('/api/auth/')) return 'auth';
  if (pathname === '/healthz' || pathname === '/metrics') return pathname.slice(1);
  if (pathname.startsWith('/_next/')) return 'next-asset';
  if (pathname.startsWith('/api/blobs/')) return 'blobs';
  if (/^\/api\/reports\/[^/]+\/images/.test(pathname)) return 'report-images';
  return 'page';
}

/** With CELLMARK_METRICS_TOKEN set, /metrics answers only `Authorization: Bearer <that token>`. */
export function metricsAuthorized(req: IncomingMessage, token: string | undefined): boolean {
  if (!token) return true;
  const given = Buffer.from(/^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
