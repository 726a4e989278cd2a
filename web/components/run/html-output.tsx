// text/html outputs, sanitised before they touch the page (lib/sanitize-html.ts: no scripts,
// nothing loaded from elsewhere); the container is CSS-contained so positioned content cannot
// cover the page. Notebook outputs are untrusted input.
'use client';
import { type ReactNode, useMemo } from 'react';
import { sanitizeHtml } from '@/lib/sanitize-html.ts';
import './cells.css';

export function HtmlOutput({ html, fallback }: { html: string; fallback: ReactNode }) {
  const result = useMemo(() => sanitizeHtml(html), [html]);
  // nothing visible without its scripts (a plot or widget): the next MIME type, or a note
  if (!result || result.blank) return <>{fallback}</>;
  return (
    <div className="output output-html-wrap" data-mime="text/html">
      {/* sanitised above; the wrapper's CSS containment keeps it inside its box */}
      {/* biome-ignore lint/security/noDangerouslySetInnerHtml: result.html is the DOMPurify output of sanitizeHtml above */}
      <div className="html-output" dangerouslySetInnerHTML={{ __html: result.html }} />
      {result.removedActive ? <div className="output-note">Scripts in this output were removed.</div> : null}
      {result.removedExternal ? <div className="output-note">Images and styles this output would load from elsewhere were not loaded.</div> : null}
    </div>
  );
}
