// For server components: a tRPC query to this same server's API, as the browser that asked for
// the page (its cookie), so a page can answer 404 before it renders. The request goes to the
// address the page request came in on, which the custom server passes in SELF_ORIGIN_HEADER
// (server/src/http/app.ts, which replaces any value a client sent).
import { headers } from 'next/headers';

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
