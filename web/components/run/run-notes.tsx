// Free-text notes on a run: read-only text for viewers, a textarea for editors that saves
// when it loses focus (or with Ctrl/⌘+Enter) and says so.
'use client';
import { useState } from 'react';
import { FormError } from '@/components/query-state.tsx';
import { useUpdateRun } from './use-update-run.ts';
import './run-header.css';

export function RunNotes({ runId, notes, canWrite }: { runId: string; notes: string; canWrite: boolean }) {
  const update = useUpdateRun(runId);
  const [draft, setDraft] = useState<string | null>(null);
  if (!canWrite) {
    return notes ? (
      <p className="run-notes-text" data-testid="run-notes">
        {notes}
      </p>
    ) : null;
  }
  const dirty = draft !== null && draft !== notes;

  function save() {
    if (!dirty) return setDraft(null);
    update.mutate({ runId, notes: draft }, { onSuccess: () => setDraft(null) });
  }

  return (
    <div className="run-notes">
      <textarea
        className="textarea"
        aria-label="Notes"
        placeholder="Notes: what this run tried, what came out of it…"
        rows={Math.min(12, Math.max(2, (draft ?? notes).split('\n').length))}
        value={draft ?? notes}
        maxLength={64 * 1024}
        onChange={(e) => setDraft(e.target.value)}
        onBlur={save}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) save();
        }}
        data-testid="run-notes"
      />
      <div className="run-notes-status small muted" aria-live="polite" data-testid="run-notes-status">
        {update.isPending ? 'Saving…' : dirty ? 'Unsaved: saves when you leave the field' : update.isSuccess ? 'Saved' : ''}
      </div>
      <FormError error={update.error} />
    </div>
  );
}
