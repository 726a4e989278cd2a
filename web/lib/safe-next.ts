// Where to go after signing in or up (`?next=`): only a path on this origin. Judged after the
// URL parser's own normalisation, as the browser will navigate: it drops tabs and newlines
// (`/%09/evil.example` is `//evil.example`), reads `\` as `/`, resolves dot segments
// (`/.//evil.example` has the path `//evil.example`), and knows every scheme.

/** A same-origin path + query + fragment for `next`, or `/`. `origin` is the page's own. */
export function safeNext(next: string | null | undefined, origin: string = globalThis.location?.origin ?? 'http://localhost'): string {
  if (!next) return '/';
  let url: URL;
  try {
    url = new URL(next, origin);
  } catch {
    return '/';
  }
  if (url.origin !== new URL(origin).origin) return '/';
  // a path that starts with `//` is protocol-relative once handed to the router as a string
  const path = `/${url.pathname.replace(/^\/+/, '')}`;
  return `${path}${url.search}${url.hash}`;
}
