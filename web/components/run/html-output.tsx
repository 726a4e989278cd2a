// text/html outputs, sanitised by DOMPurify before they touch the page: scripts, event
// handlers, javascript: URLs, forms, frames and <style> are removed, ids are namespaced so
// they cannot clobber the page, and the container is CSS-contained so positioned content
// cannot cover the page. Notebook outputs are untrusted input.
'use client';
import DOMPurify from 'dompurify';
import { type ReactNode, useMemo } from 'react';

const FORBID_TAGS = ['style', 'form', 'input', 'button', 'textarea', 'select', 'option', 'iframe', 'frame', 'frameset', 'object', 'embed', 'link', 'meta', 'base', 'dialog'];
const ACTIVE_TAGS = new Set(['SCRIPT', 'IFRAME', 'OBJECT', 'EMBED', 'FRAME', 'FRAMESET']);

let hooked = false;
function purifier(): typeof DOMPurify | null {
  // on the server (pages pre-render without data) there is no DOM to sanitise with
  if (typeof window === 'undefined' || !DOMPurify.isSupported) return null;
  if (!hooked) {
    DOMPurify.addHook('afterSanitizeAttributes', (node) => {
      if (node.nodeName === 'A' && node.hasAttribute('href')) {
        node.setAttribute('target', '_blank');
        node.setAttribute('rel', 'noopener noreferrer nofollow');
      }
    });
    hooked = true;
  }
  return DOMPurify;
}

export interface SanitizedHtml {
  html: string;
  /** scripts, frames or event handlers were taken out */
  removedActive: boolean;
  /** nothing visible left (typically a JavaScript-only widget) */
  blank: boolean;
}

export function sanitizeHtml(html: string): SanitizedHtml | null {
  const purify = purifier();
  if (!purify) return null;
  const clean = purify.sanitize(html, { FORBID_TAGS, SANITIZE_NAMED_PROPS: true, ALLOW_DATA_ATTR: false });
  const removedActive = purify.removed.some((r) =>
    'element' in r ? ACTIVE_TAGS.has(r.element.nodeName) : /^on/i.test(r.attribute?.name ?? '') || /^\s*javascript:/i.test(r.attribute?.value ?? ''),
  );
  // a <template> parses without running or loading anything
  const probe = document.createElement('template');
  probe.innerHTML = clean;
  const blank = !probe.content.textContent?.trim() && !probe.content.querySelector('img, svg, table, canvas, video, audio, math, hr, pre');
  return { html: clean, removedActive, blank };
}

export function HtmlOutput({ html, fallback }: { html: string; fallback: ReactNode }) {
  const result = useMemo(() => sanitizeHtml(html), [html]);
  // nothing visible without its scripts (a plot or widget): the next MIME type, or a note
  if (!result || result.blank) return <>{fallback}</>;
  return (
    <div className="output output-html-wrap" data-mime="text/html">
      {/* sanitised above; the wrapper's CSS containment keeps it inside its box */}
      <div className="html-output" dangerouslySetInnerHTML={{ __html: result.html }} />
      {result.removedActive ? <div className="output-note">Scripts in this output were removed.</div> : null}
    </div>
  );
}
