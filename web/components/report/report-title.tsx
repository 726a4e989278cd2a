// The report title, renamed inline: click it, type, Enter (or leave the field) saves, Escape cancels.
'use client';
import { RenameInput, useRenameToggle } from '@/components/rename-input.tsx';
import { useRenameReport } from './use-rename-report.ts';
import './report.css';

export function ReportTitle({ reportId, projectId, title, canWrite }: { reportId: string; projectId: string; title: string; canWrite: boolean }) {
  const rename = useRenameReport(reportId, projectId);
  const { editing, trigger, start, done } = useRenameToggle();

  if (!canWrite) return <h1 data-testid="report-title">{title}</h1>;
  if (!editing) {
    return (
      <h1>
        <button ref={trigger} type="button" className="title-button" title="Rename" onClick={start} data-testid="report-title">
          {title}
        </button>
      </h1>
    );
  }
  return (
    <div>
      <RenameInput value={title} label="Report title" save={rename} onDone={done} editing className="input title-input" testId="report-title-input" />
    </div>
  );
}
