// For server components: a tRPC query to this same server's API, as the browser that asked for
// the page (its cookie), so a page can answer 404 before it renders. The request goes to the
// address the page request came in on, which the custom server passes in SELF_ORIGIN_HEADER
// (server/src/http/app.ts, which replaces any value a client sent).
import { headers } from 'next/headers';
import { notFound } from 'next/navigation';

/** Both sides spell it: the server sets it on every request it hands to Next. */
export const SELF_ORIGIN_HEADER = 'x-cellmark-self-origin';

export type ServerQueryResult = { ok: true; data: unknown } | { ok: false; code: string };

export async function serverQuery(procedure: string, input?: unknown): Promise<ServerQueryResult> {
  const incoming = await headers();
  const origin = incoming.get(SELF_ORIGIN_HEADER);
  if (!origin) return { ok: false, code: 'UNAVAILABLE' };
  try {
    const query = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`;
    const res = await fetch(`${origin}/api/trpc/${procedure}${query}`, {
      headers: { cookie: incoming.get('cookie') ?? '' },
      cache: 'no-store',
    });
    const body = (await res.json()) as { result?: { data: unknown }; error?: { data?: { code?: string } } };
    return body.result ? { ok: true, data: body.result.data } : { ok: false, code: body.error?.data?.code ?? `HTTP_${res.status}` };
  } catch {
    return { ok: false, code: 'UNAVAILABLE' };
  }
}

/**
 * The not-found page (HTTP 404) when the API says there is no such thing, or the URL holds an id
 * or slug nothing can have. Signed out, forbidden or unreachable: the page renders and asks again
 * in the browser, which then sends the visitor to sign in or says what failed.
 */
export function notFoundIfMissing(result: ServerQueryResult): ServerQueryResult {
  if (!result.ok && (result.code === 'NOT_FOUND' || result.code === 'BAD_REQUEST')) notFound();
  return result;
}
