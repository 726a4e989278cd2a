// Turning API failures into what a page shows: a message, and whether to go sign in.
import { TRPCClientError } from '@trpc/client';

export function errorCode(error: unknown): string | undefined {
  if (error instanceof TRPCClientError) {
    const data = error.data as { code?: string } | undefined;
    return data?.code;
  }
  return undefined;
}

export function isUnauthorized(error: unknown): boolean {
  return errorCode(error) === 'UNAUTHORIZED';
}

export function errorMessage(error: unknown): string {
  if (error instanceof TRPCClientError) {
    // A network failure surfaces as a fetch TypeError wrapped by tRPC.
    if (!error.data && /fetch|network/i.test(error.message)) return 'The Cellmark server is unreachable. Check your connection and try again.';
    return error.message;
  }
  if (error instanceof Error) return error.message;
  if (error && typeof error === 'object' && 'message' in error && typeof error.message === 'string') return error.message;
  return 'Something went wrong.';
}

export function signInUrl(next: string): string {
  return next === '/' ? '/sign-in' : `/sign-in?next=${encodeURIComponent(next)}`;
}
