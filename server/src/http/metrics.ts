// Prometheus metrics, one registry per server instance (tests start several).
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

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

/** Low-cardinality route label: never ids. */
export function routeFamily(pathname: string): string {
  if (pathname.startsWith('/api/trpc/')) return `trpc:${pathname.slice('/api/trpc/'.length).split(',')[0]}`;
  if (pathname.startsWith('/api/auth/')) return 'auth';
  if (pathname === '/healthz' || pathname === '/metrics') return pathname.slice(1);
  if (pathname.startsWith('/_next/')) return 'next-asset';
  if (/^\/api\/reports\/[^/]+\/images/.test(pathname)) return 'report-images';
  return 'page';
}
