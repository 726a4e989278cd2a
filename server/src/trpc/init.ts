// tRPC setup: context, error mapping and the three kinds of procedure
// (public, signed-in browser session, extension API token).
import type { IncomingMessage } from 'node:http';
import type { Database } from '@cellmark/db';
import { initTRPC, TRPCError } from '@trpc/server';
import { ZodError, z } from 'zod';
import { type Auth, sessionUser } from '../auth.ts';
import type { BlobStore } from '../blobs/store.ts';
import { DomainError, type DomainErrorCode } from '../domain/errors.ts';
import type { IngestLimits } from '../domain/executions.ts';
import type { MetricLimits } from '../domain/metrics/ingest.ts';
import type { Actor } from '../domain/policy.ts';
import type { ReportStore } from '../domain/reports/store.ts';
import type { ReportDocs } from '../domain/reports/versions.ts';
import { authenticateToken } from '../domain/tokens.ts';
import type { Env } from '../env.ts';
import { parsedBodyOf } from '../http/body.ts';
import { internalErrorMessage, requestIdOf } from '../http/request-id.ts';
import { isStorageUnavailable, unavailableMessage } from '../http/unavailable.ts';
import type { Logger } from '../logger.ts';

export interface AppDeps {
  database: Database;
  blobs: BlobStore;
  auth: Auth;
  env: Env;
  logger: Logger;
  /** live report documents (the collab rooms), for server-side edits such as restores */
  reportDocs: ReportDocs;
  /** stored report documents (share links read which runs their report charts) */
  reportStore: ReportStore;
}

export function createContextFactory(deps: AppDeps) {
  const limits: IngestLimits = {
    maxSourceBytes: deps.env.CELLMARK_MAX_SOURCE_BYTES,
    maxOutputBytes: deps.env.CELLMARK_MAX_OUTPUT_BYTES,
    maxCellsPerBatch: deps.env.CELLMARK_MAX_CELLS_PER_BATCH,
    outputInlineBytes: deps.env.CELLMARK_OUTPUT_INLINE_BYTES,
  };
  const metricLimits: MetricLimits = {
    maxKeysPerBatch: deps.env.CELLMARK_MAX_METRIC_KEYS_PER_BATCH,
    maxPointsPerBatch: deps.env.CELLMARK_MAX_POINTS_PER_BATCH,
  };
  return ({ req }: { req: IncomingMessage }) => ({ ...deps, db: deps.database.db, limits, metricLimits, req });
}

export type Context = ReturnType<ReturnType<typeof createContextFactory>>;

const trpcCodeOf: Record<DomainErrorCode, TRPCError['code']> = {
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  INVALID_INPUT: 'BAD_REQUEST',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
};

/** "cells.0.status: Invalid option…; runId: Invalid UUID" — names every bad field. */
export function describeZodError(error: ZodError): string {
  return error.issues.map((i) => `${i.path.map(String).join('.') || 'input'}: ${i.message}`).join('; ');
}

const t = initTRPC.context<Context>().create({
  // Only our own messages reach the caller: an internal error (a database error with its
  // SQL and parameters, a stack overflow) is answered with the request id it was logged under.
  errorFormatter({ shape, error, ctx }) {
    const zodError = error.cause instanceof ZodError ? error.cause : null;
    const internal = error.code === 'INTERNAL_SERVER_ERROR';
    const message = zodError ? `invalid input: ${describeZodError(zodError)}` : internal ? internalErrorMessage(requestIdOf(ctx?.req)) : shape.message;
    return {
      ...shape,
      message,
      data: { ...shape.data, stack: undefined, fields: zodError ? zodError.issues.map((i) => i.path.join('.')) : undefined },
    };
  },
});

export const router = t.router;

/** Domain errors become tRPC errors (and so HTTP statuses) in exactly one place. */
const mapErrors = t.middleware(async ({ next, ctx, path }) => {
  const result = await next();
  if (!result.ok) {
    const cause = result.error.cause;
    if (cause instanceof DomainError) {
      throw new TRPCError({ code: trpcCodeOf[cause.code], message: cause.message, cause });
    }
    if (result.error.code === 'INTERNAL_SERVER_ERROR' && isStorageUnavailable(cause)) {
      const requestId = requestIdOf(ctx.req);
      ctx.logger.warn({ err: cause, path, requestId }, 'procedure failed: storage unavailable');
      throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: unavailableMessage(requestId), cause });
    }
    if (result.error.code === 'INTERNAL_SERVER_ERROR')
      ctx.logger.error({ err: result.error.cause ?? result.error, path, requestId: requestIdOf(ctx.req) }, 'procedure failed');
  }
  return result;
});

/** The body app.ts already read and parsed (see handOverJson in http/body.ts). */
const parsedInput = t.middleware(({ ctx, next }) => {
  const body = parsedBodyOf(ctx.req);
  return body ? next({ getRawInput: async () => body.value }) : next();
});

/**
 * Postgres text and jsonb cannot hold U+0000. A field a person typed is refused naming it;
 * captured content (cell source and outputs, the kernel's environment and hello) is kept
 * with U+FFFD in its place by those procedures (docs/ingest-api.md).
 */
const KEEPS_NUL = new Set(['ingest.cells', 'ingest.environment', 'ingest.kernelHello']);
const refuseNul = t.middleware(async ({ path, getRawInput, next }) => {
  if (KEEPS_NUL.has(path)) return next();
  const input = await getRawInput();
  // zod has just walked a large input in one step: yield before walking it again
  if (Array.isArray((input as { points?: unknown })?.points)) await new Promise((resolve) => setImmediate(resolve));
  const at = nulPath(input);
  if (at !== null) throw new TRPCError({ code: 'BAD_REQUEST', message: `invalid input: ${at || 'input'}: must not contain U+0000 (NUL)` });
  return next();
});

/**
 * Where the first string (or key) holding U+0000 is, dotted; null when none. No allocation
 * until one is found: this runs over every input (a 100k-point batch is 400k values).
 * Depth is bounded by the body reader.
 */
function nulPath(value: unknown): string | null {
  const found = hasNul(value);
  return found ? found.reverse().join('.') : null;
}

function hasNul(value: unknown): string[] | null {
  if (typeof value === 'string') return value.includes('\u0000') ? [] : null;
  if (!value || typeof value !== 'object') return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      if (v === null || (typeof v !== 'object' && typeof v !== 'string')) continue;
      const found = hasNul(v);
      if (found) {
        found.push(String(i));
        return found;
      }
    }
    return null;
  }
  for (const key in value) {
    if (key.includes('\u0000')) return [key.replaceAll('\u0000', '\\0')];
    const found = hasNul((value as Record<string, unknown>)[key]);
    if (found) {
      found.push(key);
      return found;
    }
  }
  return null;
}

export const publicProcedure = t.procedure.use(parsedInput).use(mapErrors).use(refuseNul);

export const sessionProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const user = await sessionUser(ctx.auth, ctx.req.headers);
  if (!user) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'sign in required' });
  const actor: Actor = { userId: user.id, via: 'session' };
  return next({ ctx: { ...ctx, actor, user } });
});

/** A report's view-only share link (`cms_…`), as reads that a link may make take it. */
export const shareToken = z.string().min(1).max(200);

/** The signed-in user, for a public read that a share link (`share` in its input) may also make. */
export async function sessionActor(ctx: Context): Promise<Actor> {
  const user = await sessionUser(ctx.auth, ctx.req.headers);
  if (!user) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'sign in required' });
  return { userId: user.id, via: 'session' };
}

export const tokenProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const header = ctx.req.headers.authorization;
  const match = header?.match(/^Bearer\s+(\S+)$/i);
  if (!match) {
    throw new TRPCError({ code: 'UNAUTHORIZED', message: 'missing API token: send "Authorization: Bearer <token>" (create one under Settings → API tokens)' });
  }
  const { actor, user } = await authenticateToken(ctx.db, match[1]!);
  return next({ ctx: { ...ctx, actor, user } });
});
