// The block framework. A block is one file exporting a `ReportBlock`: a TipTap node whose
// attributes are the block's settings (so they live in the Yjs document and every co-editor
// sees the same configuration), rendered by a React node view (see block-frame.tsx) that has
// its settings UI. Adding a block = one new file + one line in registry.ts.
import type { Node } from '@tiptap/core';

export interface ReportBlock {
  /** the TipTap node name, also `data-block` on the rendered element */
  name: string;
  /** shown in the toolbar's "Insert" menu */
  label: string;
  node: Node;
  /** settings of a freshly inserted block (blockId is added) */
  initialAttrs: () => Record<string, unknown>;
}

/** Every block has a `blockId`: a stable identity (chart cursor sync, tests, future links). */
export const blockIdAttribute = {
  default: null as string | null,
  parseHTML: (element: HTMLElement) => element.getAttribute('data-block-id'),
  renderHTML: (attributes: Record<string, unknown>) => (attributes.blockId ? { 'data-block-id': String(attributes.blockId) } : {}),
};

/**
 * A node attribute holding JSON (arrays, objects) that round-trips through HTML (copy/paste:
 * `data-<name>`) and through the Yjs document (y-prosemirror stores attributes as values).
 */
export function jsonAttribute<T>(name: string, fallback: T, valid: (value: unknown) => value is T) {
  return {
    default: fallback,
    parseHTML: (element: HTMLElement) => {
      try {
        const value: unknown = JSON.parse(element.getAttribute(`data-${name}`) ?? 'null');
        return valid(value) ? value : fallback;
      } catch {
        return fallback;
      }
    },
    renderHTML: (attributes: Record<string, unknown>) => ({ [`data-${name}`]: JSON.stringify(attributes[name] ?? fallback) }),
  };
}

export const isStringArray = (value: unknown): value is string[] => Array.isArray(value) && value.every((v) => typeof v === 'string');
