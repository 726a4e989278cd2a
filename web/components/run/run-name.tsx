// The run's name: a heading for viewers, an always-editable field for editors
// (Enter or leaving the field saves, Escape goes back to the saved name).
'use client';
import { useState } from 'react';
import { FormError } from '@/components/query-state.tsx';
import { useUpdateRun } from './use-update-run.ts';

export function RunName({ runId, name, canWrite }: { runId: string; name: string; canWrite: boolean }) {
  const update = useUpdateRun(runId);
  // null while not editing, so refreshed data shows through
  const [draft, setDraft] = useState<string | null>(null);
  if (!canWrite) return <h1 data-testid="run-name">{name}</h1>;

  function save() {
    if (draft === null) return;
    const next = draft.trim();
    if (!next || next === name) return setDraft(null);
    update.mutate({ runId, name: next }, { onSuccess: () => setDraft(null) });
  }

  return (
    <div className="run-name">
      <h1>
        <input
          className="title-input name-input"
          aria-label="Run name"
          value={draft ?? name}
          maxLength={200}
          disabled={update.isPending}
          onChange={(e) => setDraft(e.target.value)}
          onBlur={save}
          onKeyDown={(e) => {
            if (e.key === 'Enter') e.currentTarget.blur();
            if (e.key === 'Escape') {
              update.reset();
              setDraft(null);
              e.currentTarget.blur();
            }
          }}
          size={Math.max(8, Math.min(60, (draft ?? name).length + 2))}
          data-testid="run-name-input"
        />
      </h1>
      <FormError error={update.error} />
    </div>
  );
}
