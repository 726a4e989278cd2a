// Environment, read and validated once. Nothing else in the server process reads process.env
// (the quick start, cli/quickstart.ts, is a launcher around it and reads its own few variables).
import path from 'node:path';
import { z } from 'zod';
import { trustedProxies } from './http/client-address.ts';

const bool = z.enum(['1', '0', 'true', 'false', 'yes', 'no', '']).transform((v) => v === '1' || v === 'true' || v === 'yes');

const bytes = z.coerce.number().int().positive();

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Postgres connection string; when absent, embedded PGlite under CELLMARK_DATA_DIR. */
  DATABASE_URL: z
    .string()
    .optional()
    .transform((v) => v || undefined),
  CELLMARK_DATA_DIR: z.string().default('.cellmark'),
  /** Embedded PGlite only: free disk (MiB) under which statements are refused with 503 (PGlite cannot survive a full disk). */
  CELLMARK_PGLITE_MIN_FREE_MIB: z.coerce.number().int().min(0).max(1_000_000).default(48),
  /** Public origin used in links and auth callbacks, e.g. https://cellmark.example.com */
  CELLMARK_PUBLIC_URL: z.url().optional(),
  /** Secret for session signing; required in production, generated per data dir locally. */
  CELLMARK_SECRET: z.string().min(32, 'CELLMARK_SECRET must be at least 32 characters').optional(),
  /** Serve the web UI with `next dev` (hot reload) instead of the production build. */
  CELLMARK_DEV: bool.default(false),
  /** Do not mount the web UI at all (API-only process; tests). */
  CELLMARK_NO_WEB: bool.default(false),
  /**
   * Set by the quick start (`npm start`): the JupyterLab it runs beside this server, whose
   * Cellmark extension it set up with an API token, so the UI says "run a cell there".
   */
  CELLMARK_LOCAL_LAB_URL: z.url().optional(),
  /** The project ("team/project") that JupyterLab records to. */
  CELLMARK_LOCAL_LAB_PROJECT: z
    .string()
    .max(200)
    .optional()
    .transform((v) => v || undefined),
  /** Anyone may create an account. Default: on, except with NODE_ENV=production (invitations only). */
  CELLMARK_ALLOW_SIGNUP: bool.optional(),
  /**
   * Reverse proxies whose X-Forwarded-For is believed, as comma-separated addresses or CIDRs
   * (`10.0.0.0/8, ::1`); without it the socket's peer is the client (http/client-address.ts).
   */
  CELLMARK_TRUSTED_PROXIES: z
    .string()
    .default('')
    .transform((v, ctx) => {
      const entries = v
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean);
      try {
        trustedProxies(entries);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
      return entries;
    }),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  CELLMARK_MAX_BODY_BYTES: bytes.default(32 * 1024 * 1024),
  CELLMARK_MAX_SOURCE_BYTES: bytes.default(1024 * 1024),
  /** Largest image one upload into a report may be (POST /api/reports/<id>/images). */
  CELLMARK_MAX_IMAGE_BYTES: bytes.default(10 * 1024 * 1024),
  CELLMARK_MAX_OUTPUT_BYTES: bytes.default(8 * 1024 * 1024),
  CELLMARK_MAX_CELLS_PER_BATCH: bytes.default(500),
  /** Distinct metric keys one ingest.metrics call may carry. */
  CELLMARK_MAX_METRIC_KEYS_PER_BATCH: bytes.default(1000),
  CELLMARK_MAX_POINTS_PER_BATCH: bytes.default(100_000),
  /** Output values (images, long text) above this size are stored as blobs, not in the row. */
  CELLMARK_OUTPUT_INLINE_BYTES: bytes.default(64 * 1024),
  /** Running runs with no ingest or heartbeat for this long are finished (the last resort). */
  CELLMARK_RUN_IDLE_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(24 * 60 * 60 * 1000),
  /**
   * A running run whose kernel was heard from and then sent no heartbeat for this long is
   * crashed (the kernel side beats every 30 s, CELLMARK_HEARTBEAT_INTERVAL_S in the kernel).
   */
  CELLMARK_RUN_HEARTBEAT_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(2 * 60 * 1000),
  /** Where blobs live when no object store is configured (default: <data dir>/blobs). */
  CELLMARK_BLOB_DIR: z.string().optional(),
  /** How often open report connections are pinged and their session/role re-checked. */
  CELLMARK_COLLAB_REAUTH_MS: z.coerce.number().int().min(100).default(30_000),
  /** A report's update log is compacted into its snapshot once this many rows are pending… */
  CELLMARK_REPORT_COMPACT_UPDATES: z.coerce.number().int().min(1).default(500),
  /** …or once the pending rows hold this many bytes, whichever comes first. */
  CELLMARK_REPORT_COMPACT_BYTES: bytes.default(1024 * 1024),
  /** An automatic version is recorded once a report has had no edit for this long. */
  CELLMARK_REPORT_VERSION_QUIET_MS: z.coerce
    .number()
    .int()
    .min(50)
    .default(2 * 60 * 1000),
  /** When set, GET /metrics requires `Authorization: Bearer <this token>`. */
  CELLMARK_METRICS_TOKEN: z
    .string()
    .optional()
    .transform((v) => v || undefined),
  /** Grace period for in-flight requests at shutdown. */
  CELLMARK_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
});

export type Env = Omit<z.infer<typeof schema>, 'CELLMARK_ALLOW_SIGNUP'> & {
  CELLMARK_ALLOW_SIGNUP: boolean;
  dataDir: string;
  blobDir: string;
  publicUrl: string;
};

export class EnvError extends Error {
  override name = 'EnvError';
}

export function loadEnv(source: Record<string, string | undefined> = process.env): Env {
  const parsed = schema.safeParse(source);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new EnvError(`invalid environment: ${issues}`);
  }
  const env = parsed.data;
  if (env.NODE_ENV === 'production' && !env.CELLMARK_SECRET) {
    throw new EnvError('invalid environment: CELLMARK_SECRET is required when NODE_ENV=production');
  }
  return {
    ...env,
    CELLMARK_ALLOW_SIGNUP: env.CELLMARK_ALLOW_SIGNUP ?? env.NODE_ENV !== 'production',
    dataDir: path.resolve(env.CELLMARK_DATA_DIR),
    blobDir: path.resolve(env.CELLMARK_BLOB_DIR ?? path.join(env.CELLMARK_DATA_DIR, 'blobs')),
    publicUrl: (env.CELLMARK_PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/$/, ''),
  };
}
