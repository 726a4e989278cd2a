// The frame every block's node view sits in: a header with the block's name, a settings
// toggle and remove button for editors, the settings panel, then the block's content.
// Settings open by themselves for a block this person just inserted (not for co-editors).
'use client';
import { type NodeViewProps, NodeViewWrapper } from '@tiptap/react';
import { type ReactNode, useState } from 'react';
import { useReportContext } from '../report-context.tsx';

/** Block ids inserted from this tab; their settings open on first render. */
const insertedHere = new Set<string>();
export function markInsertedHere(blockId: string) {
  insertedHere.add(blockId);
}

export function BlockFrame({
  props,
  label,
  summary,
  settings,
  children,
}: {
  props: NodeViewProps;
  label: string;
  /** one line saying what the block shows, beside its label */
  summary?: ReactNode;
  settings: ReactNode;
  children: ReactNode;
}) {
  const { editable } = useReportContext();
  const [open, setOpen] = useState<boolean>(() => insertedHere.delete(String(props.node.attrs.blockId)));
  const showSettings = editable && open;
  return (
    <NodeViewWrapper className={`report-block${props.selected ? ' report-block-selected' : ''}`} data-testid="report-block" data-block={props.node.type.name}>
      <div className="report-block-head" contentEditable={false} data-drag-handle>
        <span className="report-block-label">{label}</span>
        <span className="muted small report-block-summary">{summary}</span>
        {editable ? (
          <span className="report-block-actions">
            <button type="button" className="btn btn-sm" aria-expanded={showSettings} onClick={() => setOpen(!open)} data-testid="block-settings-toggle">
              {showSettings ? 'Done' : 'Settings'}
            </button>
            <button
              type="button"
              className="btn btn-sm btn-danger"
              onClick={() => props.deleteNode()}
              data-testid="block-remove"
              aria-label={`Remove ${label}`}
            >
              Remove
            </button>
          </span>
        ) : null}
      </div>
      {showSettings ? (
        <div className="report-block-settings" contentEditable={false} data-testid="block-settings">
          {settings}
        </div>
      ) : null}
      <div className="report-block-body" contentEditable={false}>
        {children}
      </div>
    </NodeViewWrapper>
  );
}
