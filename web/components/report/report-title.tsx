// The report title, renamed inline: click it, type, Enter (or leave the field) saves, Escape cancels.
'use client';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { FormError } from '@/components/query-state.tsx';
import { useTRPC } from '@/lib/trpc.ts';

export function ReportTitle({ reportId, projectId, title, canWrite }: { reportId: string; projectId: string; title: string; canWrite: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState<string | null>(null);
  const rename = useMutation(
    trpc.reports.rename.mutationOptions({
      onSuccess: async () => {
        setDraft(null);
        await Promise.all([
          queryClient.invalidateQueries(trpc.reports.get.queryFilter({ reportId })),
          queryClient.invalidateQueries(trpc.reports.list.queryFilter({ projectId })),
        ]);
      },
    }),
  );

  function save() {
    if (draft === null) return;
    const next = draft.trim();
    if (!next || next === title) return setDraft(null);
    rename.mutate({ reportId, title: next });
  }

  if (!canWrite) return <h1 data-testid="report-title">{title}</h1>;
  if (draft === null) {
    return (
      <h1>
        <button type="button" className="title-button" title="Rename" onClick={() => setDraft(title)} data-testid="report-title">
          {title}
        </button>
      </h1>
    );
  }
  return (
    <div>
      <input
        className="input title-input"
        aria-label="Report title"
        value={draft}
        maxLength={200}
        // biome-ignore lint/a11y/noAutofocus: the input appears because the user asked to rename/enter it: focus goes where they are about to type
        autoFocus
        disabled={rename.isPending}
        onChange={(e) => setDraft(e.target.value)}
        onBlur={save}
        onKeyDown={(e) => {
          if (e.key === 'Enter') save();
          if (e.key === 'Escape') {
            rename.reset();
            setDraft(null);
          }
        }}
        data-testid="report-title-input"
      />
      <FormError error={rename.error} />
    </div>
  );
}
