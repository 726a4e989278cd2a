// The report body: a TipTap (ProseMirror) editor bound to the report's Yjs document through
// y-prosemirror (TipTap's Collaboration extension), synced over /collab/<reportId>. Shows who
// is here (awareness), their cursors, the connection state, and read-only clearly for viewers.
'use client';
import { useQuery } from '@tanstack/react-query';
import Collaboration from '@tiptap/extension-collaboration';
import CollaborationCaret from '@tiptap/extension-collaboration-caret';
import { TableKit } from '@tiptap/extension-table';
import { Placeholder } from '@tiptap/extensions';
import { EditorContent, useEditor } from '@tiptap/react';
import StarterKit from '@tiptap/starter-kit';
import { useEffect, useMemo } from 'react';
import { Loading } from '@/components/query-state.tsx';
import { signInUrl } from '@/lib/errors.ts';
import { useTRPC } from '@/lib/trpc.ts';
import { reportBlocks } from './blocks/registry.ts';
import { CollabClosedMessage, CollabStatus } from './collab-status.tsx';
import type { PresenceUser } from './presence.ts';
import { PresenceAvatars } from './presence-avatars.tsx';
import { ReportContext, type ReportContextValue, useReportContext } from './report-context.tsx';
import { ReportImage, ReportImageUpload } from './report-image.ts';
import { Toolbar } from './toolbar.tsx';
import { KeepUnreadSelection, readDomBeforeRemoteUpdates } from './unread-selection.ts';
import { type ReportSession, useReportDoc } from './use-report-doc.ts';
import './report.css';

/** The Y.XmlFragment the document lives in (versions/diffs read the same one). */
export const REPORT_FRAGMENT = 'prosemirror';

export function ReportEditor({
  reportId,
  projectId,
  base,
  canWrite,
  path,
}: {
  reportId: string;
  projectId: string;
  base: string;
  canWrite: boolean;
  path: string;
}) {
  const trpc = useTRPC();
  const me = useQuery(trpc.me.get.queryOptions());
  const { session, state, synced } = useReportDoc(reportId);
  // Editable once the server's copy is here; still editable offline (changes merge on reconnect).
  const editable = canWrite && synced && state.kind !== 'closed';
  // as the collab server stamps it on this user's awareness, so self and others agree
  const user: PresenceUser | null = me.data?.presence ?? null;
  const context = useMemo((): ReportContextValue => ({ projectId, reportId, base, editable }), [projectId, reportId, base, editable]);

  return (
    <section className="report" data-testid="report-editor" data-editable={editable ? 'true' : 'false'}>
      <div className="row report-status" style={{ justifyContent: 'space-between', marginBottom: 8 }}>
        <PresenceAvatars provider={session?.provider ?? null} />
        <span className="row">
          {canWrite ? null : (
            <span className="badge badge-plain" data-testid="read-only">
              Read-only
            </span>
          )}
          <CollabStatus state={state} />
        </span>
      </div>
      {canWrite ? null : <p className="muted small">Read-only: your role in this team is viewer. You see everyone’s changes live.</p>}
      <CollabClosedMessage state={state} signInHref={signInUrl(path)} />
      {session && user ? (
        <ReportContext.Provider value={context}>
          <Body key={session.doc.guid} session={session} user={user} editable={editable} synced={synced} />
        </ReportContext.Provider>
      ) : (
        <Loading />
      )}
    </section>
  );
}

function Body({ session, user, editable, synced }: { session: ReportSession; user: PresenceUser; editable: boolean; synced: boolean }) {
  const { reportId } = useReportContext();
  const editor = useEditor(
    {
      immediatelyRender: false,
      editable: false,
      extensions: [
        // Collaboration brings its own undo (yours only), so StarterKit's history is off; no
        // trailing node: every client would append its own empty paragraph at once.
        StarterKit.configure({ undoRedo: false, trailingNode: false, link: { openOnClick: false, autolink: true, defaultProtocol: 'https' } }),
        ReportImage,
        ReportImageUpload.configure({ reportId }),
        TableKit.configure({ table: { resizable: false } }),
        Collaboration.configure({ document: session.doc, field: REPORT_FRAGMENT }),
        CollaborationCaret.configure({ provider: session.provider, user }),
        KeepUnreadSelection,
        // an empty report says what goes in it (editors only: a viewer's empty report is just empty)
        Placeholder.configure({ placeholder: 'Write up what the runs show. Insert a run chart from the toolbar to put live metrics beside your notes.' }),
        ...reportBlocks.map((b) => b.node),
      ],
      editorProps: {
        attributes: { class: 'report-body', 'data-testid': 'report-text', 'aria-label': 'Report text', spellcheck: 'true' },
      },
    },
    [session],
  );
  useEffect(() => {
    if (editor && editor.isEditable !== editable) editor.setEditable(editable, false);
  }, [editor, editable]);
  // a click (or typing) ProseMirror has not read yet must survive a remote edit arriving now
  useEffect(() => (editor ? readDomBeforeRemoteUpdates(session.provider, editor.view) : undefined), [editor, session]);

  if (!editor) return <Loading />;
  return (
    <div className="report-frame">
      {editable ? <Toolbar editor={editor} /> : null}
      <EditorContent editor={editor} className="report-content" data-synced={synced ? 'true' : 'false'} />
    </div>
  );
}
