// Sanitising text/html notebook outputs (untrusted input) before they touch the page, with
// DOMPurify: scripts, event handlers, javascript: URLs, forms, frames and <style> are removed,
// ids are namespaced so they cannot clobber the page. Nothing in an output may load from
// elsewhere when it is shown, either — a remote image or stylesheet tells its host who looked,
// when and from where: `url(…)` in style attributes, `src`/`poster`/`background`/`srcset`/
// `ping`, and SVG `href`s that fetch (`<image>`, `<use>`, `<feImage>`) are dropped unless they
// are `data:` (inline images stay). Links (`<a href>`) stay: they load only when clicked.
import DOMPurify from 'dompurify';

const FORBID_TAGS = [
  'style',
  'form',
  'input',
  'button',
  'textarea',
  'select',
  'option',
  'iframe',
  'frame',
  'frameset',
  'object',
  'embed',
  'link',
  'meta',
  'base',
  'dialog',
];
const ACTIVE_TAGS = new Set(['SCRIPT', 'IFRAME', 'OBJECT', 'EMBED', 'FRAME', 'FRAMESET']);
/** Attributes the browser fetches on its own; kept only as data: URLs. */
const FETCHED = new Set(['src', 'poster', 'background', 'lowsrc', 'dynsrc', 'data', 'codebase', 'href', 'xlink:href']);
/** Attributes with URL lists or requests of their own: always dropped (src stays as the image). */
const DROPPED = new Set(['srcset', 'imagesrcset', 'ping', 'action', 'formaction']);

const inline = (url: string) => /^\s*data:/i.test(url);

/**
 * Whether a CSS value (as the browser's CSSOM serialises it) may load something from outside.
 * Escapes (`u\72l(`), `image-set("…")` strings, `src()` and `attr()` are not worth reading
 * closely: any of them counts as external.
 */
export function cssLoadsExternally(value: string): boolean {
  if (/\\|image-set\(|\bsrc\(|\battr\(|@import/i.test(value)) return true;
  for (const m of value.matchAll(/url\(\s*(?:"([^"]*)"|'([^']*)'|([^)\s]*))/gi)) {
    const target = m[1] ?? m[2] ?? m[3] ?? '';
    if (!inline(target) && !target.trim().startsWith('#')) return true;
  }
  return false;
}

/** A style attribute without the declarations that load from outside ('' when none is left). */
function cleanStyle(style: string, scratch: Document): string {
  // parsed by the browser's own CSS parser, in a document that never renders or fetches
  const el = scratch.createElement('div');
  el.setAttribute('style', style);
  const declarations = el.style;
  for (let i = declarations.length - 1; i >= 0; i--) {
    const property = declarations.item(i);
    if (cssLoadsExternally(declarations.getPropertyValue(property))) declarations.removeProperty(property);
  }
  return declarations.cssText;
}

let purifier: ReturnType<typeof DOMPurify> | null = null;
let droppedExternal = false;

function instance(): ReturnType<typeof DOMPurify> | null {
  // on the server (pages pre-render without data) there is no DOM to sanitise with
  if (typeof window === 'undefined') return null;
  if (purifier) return purifier;
  const purify = DOMPurify(window);
  if (!purify.isSupported) return null;
  const scratch = document.implementation.createHTMLDocument('');
  purify.addHook('uponSanitizeAttribute', (node, data) => {
    const name = data.attrName;
    const value = data.attrValue;
    let keep = true;
    if (name === 'style') {
      const clean = cleanStyle(value, scratch);
      if (clean !== value.trim()) droppedExternal ||= cssLoadsExternally(value);
      data.attrValue = clean;
      keep = clean.trim() !== '';
    } else if (DROPPED.has(name)) keep = false;
    else if (FETCHED.has(name)) {
      // a link is followed when clicked, not when shown; everything else with a URL fetches it
      const link = node.nodeName.toLowerCase() === 'a' && (name === 'href' || name === 'xlink:href');
      keep = link || inline(value) || ((name === 'href' || name === 'xlink:href') && value.trim().startsWith('#'));
    } else if (value.includes('(') || value.includes('\\')) {
      // SVG presentation attributes are CSS too (fill="url(…)", filter, mask, cursor)
      keep = !cssLoadsExternally(value);
    }
    if (!keep) {
      data.keepAttr = false;
      if (name !== 'style') droppedExternal = true;
    }
  });
  purify.addHook('afterSanitizeAttributes', (node) => {
    if (node.nodeName === 'A' && node.hasAttribute('href')) {
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer nofollow');
    }
  });
  purifier = purify;
  return purify;
}

export interface SanitizedHtml {
  html: string;
  /** scripts, frames or event handlers were taken out */
  removedActive: boolean;
  /** images, styles or other resources from outside were taken out */
  removedExternal: boolean;
  /** nothing visible left (typically a JavaScript-only widget) */
  blank: boolean;
}

export function sanitizeHtml(html: string): SanitizedHtml | null {
  const purify = instance();
  if (!purify) return null;
  droppedExternal = false;
  const clean = purify.sanitize(html, { FORBID_TAGS, SANITIZE_NAMED_PROPS: true, ALLOW_DATA_ATTR: false });
  const removedActive = purify.removed.some((r) =>
    'element' in r ? ACTIVE_TAGS.has(r.element.nodeName) : /^on/i.test(r.attribute?.name ?? '') || /^\s*javascript:/i.test(r.attribute?.value ?? ''),
  );
  // a <template> parses without running or loading anything
  const probe = document.createElement('template');
  probe.innerHTML = clean;
  const blank = !probe.content.textContent?.trim() && !probe.content.querySelector('img, svg, table, canvas, video, audio, math, hr, pre');
  return { html: clean, removedActive, removedExternal: droppedExternal, blank };
}
