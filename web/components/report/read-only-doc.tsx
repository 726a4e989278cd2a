// A report document shown read-only with the editor's own extensions: a version's snapshot in
// the History panel and replay, and the shared page's live document. The Y.Doc is the caller's
// (built from a snapshot, or synced by a share-link socket); nothing here writes to it.
'use client';
import Collaboration from '@tiptap/extension-collaboration';
import { TableKit } from '@tiptap/extension-table';
import { EditorContent, useEditor } from '@tiptap/react';
import StarterKit from '@tiptap/starter-kit';
import { useMemo } from 'react';
import * as Y from 'yjs';
import { Loading } from '@/components/query-state.tsx';
import { reportBlocks } from './blocks/registry.ts';
import { ReportContext, type ReportContextValue } from './report-context.tsx';
import { REPORT_FRAGMENT } from './report-editor.tsx';
import { ReportImage } from './report-image.ts';
import './report.css';

/** Where the document belongs (blocks query its project's runs); never editable here. */
export type ReadOnlyPlace = Omit<ReportContextValue, 'editable'>;

/** `shareToken`: the shared page's link, which its uploaded images are read through. */
export function ReadOnlyDoc({ doc, testId, place, shareToken = null }: { doc: Y.Doc; testId: string; place: ReadOnlyPlace; shareToken?: string | null }) {
  const { reportId, projectId, base, share } = place;
  const context = useMemo((): ReportContextValue => ({ reportId, projectId, base, share, editable: false }), [reportId, projectId, base, share]);
  const editor = useEditor(
    {
      immediatelyRender: false,
      editable: false,
      extensions: [
        StarterKit.configure({ undoRedo: false, trailingNode: false, link: { openOnClick: true } }),
        ReportImage.configure({ shareToken }),
        TableKit.configure({ table: { resizable: false } }),
        Collaboration.configure({ document: doc, field: REPORT_FRAGMENT }),
        ...reportBlocks.map((b) => b.node),
      ],
      editorProps: { attributes: { class: 'report-body', 'data-testid': testId, 'aria-label': 'Report text (read-only)' } },
    },
    [doc, shareToken],
  );
  if (!editor) return <Loading />;
  return (
    <ReportContext.Provider value={context}>
      <EditorContent editor={editor} className="report-content" />
    </ReportContext.Provider>
  );
}

/** The document a version's snapshot (base64 Yjs update) describes. */
export function docFromSnapshot(snapshot: string): Y.Doc {
  const doc = new Y.Doc();
  Y.applyUpdate(
    doc,
    Uint8Array.from(atob(snapshot), (c) => c.charCodeAt(0)),
  );
  return doc;
}
