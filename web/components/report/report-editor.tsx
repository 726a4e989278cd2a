// The report body: a plain textarea bound to the shared Y.Text "content" of the report.
'use client';
import { useRef } from 'react';
import { useCollabText } from '@/lib/collab/use-collab-text.ts';
import { signInUrl } from '@/lib/errors.ts';
import { CollabClosedMessage, CollabStatus } from './collab-status.tsx';

export function ReportEditor({ reportId, canWrite, path }: { reportId: string; canWrite: boolean; path: string }) {
  const textarea = useRef<HTMLTextAreaElement>(null);
  const { state, synced } = useCollabText(reportId, textarea);
  // Editable once the server's copy is here; still editable offline (changes merge on reconnect).
  const editable = canWrite && synced && state.kind !== 'closed';
  const signInHref = signInUrl(path);

  return (
    <section>
      <div className="row" style={{ justifyContent: 'space-between', marginBottom: 8 }}>
        <span className="muted small">{canWrite ? 'Everyone on this report sees your changes as you type.' : 'Read-only: your role in this team is viewer.'}</span>
        <CollabStatus state={state} />
      </div>
      <CollabClosedMessage state={state} signInHref={signInHref} />
      <textarea
        ref={textarea}
        className="textarea report-text"
        data-testid="report-text"
        readOnly={!editable}
        aria-readonly={!editable}
        aria-label="Report text"
        placeholder={synced ? (canWrite ? 'Write your findings…' : '') : 'Loading…'}
        spellCheck
      />
    </section>
  );
}
