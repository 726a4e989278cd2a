// The report page's History and Share buttons and what they open (above the editor).
'use client';
import { useState } from 'react';
import { HistoryPanel } from './history-panel.tsx';
import type { ReadOnlyPlace } from './read-only-doc.tsx';
import { ShareDialog } from './share-dialog.tsx';

export function ReportHistoryBar({ place, canWrite }: { place: ReadOnlyPlace; canWrite: boolean }) {
  const [open, setOpen] = useState<'history' | 'share' | null>(null);
  const toggle = (what: 'history' | 'share') => setOpen(open === what ? null : what);
  return (
    <>
      <div className="row" style={{ justifyContent: 'flex-end', marginBottom: 8 }}>
        <button type="button" className="btn btn-sm" data-testid="history-open" aria-expanded={open === 'history'} onClick={() => toggle('history')}>
          History
        </button>
        {canWrite ? (
          <button type="button" className="btn btn-sm" data-testid="share-open" aria-expanded={open === 'share'} onClick={() => toggle('share')}>
            Share
          </button>
        ) : null}
      </div>
      {open === 'history' ? <HistoryPanel place={place} canWrite={canWrite} onClose={() => setOpen(null)} /> : null}
      {open === 'share' ? <ShareDialog reportId={place.reportId} onClose={() => setOpen(null)} /> : null}
    </>
  );
}
