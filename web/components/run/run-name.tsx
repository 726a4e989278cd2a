// The run's name: a heading for viewers, an always-editable field for editors
// (Enter or leaving the field saves, Escape goes back to the saved name).
'use client';
import { RenameInput } from '@/components/rename-input.tsx';
import { useUpdateRun } from './use-update-run.ts';
import './run-header.css';

export function RunName({ runId, name, canWrite }: { runId: string; name: string; canWrite: boolean }) {
  const update = useUpdateRun(runId);
  if (!canWrite) return <h1 data-testid="run-name">{name}</h1>;
  return (
    <div className="run-name">
      <h1>
        <RenameInput
          value={name}
          label="Run name"
          save={(next) => update.mutateAsync({ runId, name: next })}
          className="title-input name-input"
          fit
          testId="run-name-input"
        />
      </h1>
    </div>
  );
}
