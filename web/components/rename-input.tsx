// One inline-rename field, for a run's name and a report's title (on its page and in the Reports
// list): Enter or leaving the field saves, Escape puts the saved value back, an unchanged value
// saves nothing, and what went wrong is announced under the field, which keeps focus to fix it.
'use client';
import { useEffect, useRef, useState } from 'react';
import { FormError } from '@/components/query-state.tsx';
import './rename-input.css';

export function RenameInput({
  value,
  label,
  save,
  onDone,
  editing = false,
  className = 'input',
  fit = false,
  testId,
}: {
  value: string;
  /** the field's accessible name, also the subject of "… must not be empty" */
  label: string;
  /** saves the trimmed new value; a rejection is shown under the field */
  save: (next: string) => Promise<unknown>;
  /** after a save or Escape: `keyboard` when Enter or Escape ended it, so focus can go back where editing began */
  onDone?: (how: { keyboard: boolean }) => void;
  /** opened by a Rename action: starts focused with the value as the draft */
  editing?: boolean;
  className?: string;
  /** size the field to its text, for a heading-like name */
  fit?: boolean;
  testId?: string;
}) {
  // null while not editing, so a refreshed value shows through
  const [draft, setDraft] = useState<string | null>(editing ? value : null);
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function commit(keyboard: boolean) {
    if (draft === null || pending) return;
    const next = draft.trim();
    if (!next) return setError(new Error(`${label} must not be empty.`));
    setError(null);
    if (next === value) {
      setDraft(null);
      return onDone?.({ keyboard });
    }
    setPending(true);
    try {
      await save(next);
      setDraft(null);
      onDone?.({ keyboard });
    } catch (failure) {
      setError(failure);
    } finally {
      setPending(false);
    }
  }

  function cancel() {
    setDraft(null);
    setError(null);
    onDone?.({ keyboard: true });
  }

  const text = draft ?? value;
  return (
    <>
      <input
        className={className}
        aria-label={label}
        aria-invalid={error ? true : undefined}
        aria-busy={pending || undefined}
        value={text}
        maxLength={200}
        // biome-ignore lint/a11y/noAutofocus: the field appears because the user asked to rename: focus goes where they are about to type
        autoFocus={editing}
        // read-only rather than disabled while saving: a disabled field drops keyboard focus
        readOnly={pending}
        onChange={(e) => setDraft(e.target.value)}
        onBlur={() => void commit(false)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') void commit(true);
          if (e.key === 'Escape') {
            e.stopPropagation();
            cancel();
          }
        }}
        size={fit ? Math.max(8, Math.min(60, text.length + 2)) : undefined}
        data-testid={testId}
      />
      <FormError error={error} />
    </>
  );
}

/**
 * Editing state for a RenameInput opened from a button: when Enter or Escape closes it, focus
 * goes back to the button (a click elsewhere keeps focus where it went).
 */
export function useRenameToggle() {
  const [editing, setEditing] = useState(false);
  const trigger = useRef<HTMLButtonElement>(null);
  const refocus = useRef(false);
  useEffect(() => {
    if (editing || !refocus.current) return;
    refocus.current = false;
    trigger.current?.focus();
  }, [editing]);
  return {
    editing,
    trigger,
    start: () => setEditing(true),
    done: ({ keyboard }: { keyboard: boolean }) => {
      refocus.current = keyboard;
      setEditing(false);
    },
  };
}
