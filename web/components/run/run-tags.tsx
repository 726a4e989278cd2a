// The run's tags as chips; editors remove with × and add by typing (Enter or comma).
// A chip links to the runs table filtered by that tag.
'use client';
import Link from 'next/link';
import { useState } from 'react';
import { FormError } from '@/components/query-state.tsx';
import { useUpdateRun } from './use-update-run.ts';
import './run-header.css';

const MAX_TAGS = 50;
const MAX_TAG_CHARS = 64;

export function RunTags({ runId, tags, canWrite, base }: { runId: string; tags: string[]; canWrite: boolean; base: string }) {
  const update = useUpdateRun(runId);
  const [draft, setDraft] = useState('');
  if (!canWrite && !tags.length) return null;

  function add() {
    const fresh = draft
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t && !tags.includes(t));
    if (!fresh.length) return setDraft('');
    update.mutate({ runId, tags: [...tags, ...new Set(fresh)] }, { onSuccess: () => setDraft('') });
  }

  return (
    <div className="tags" data-testid="run-tags">
      {tags.map((tag) => (
        <span key={tag} className="chip" data-testid="tag-chip" data-tag={tag}>
          <Link href={`${base}?tag=${encodeURIComponent(tag)}`} title={`Runs tagged “${tag}”`}>
            {tag}
          </Link>
          {canWrite ? (
            <button
              type="button"
              className="chip-remove"
              aria-label={`Remove tag ${tag}`}
              disabled={update.isPending}
              onClick={() => update.mutate({ runId, tags: tags.filter((t) => t !== tag) })}
              data-testid="tag-remove"
            >
              ×
            </button>
          ) : null}
        </span>
      ))}
      {canWrite && tags.length < MAX_TAGS ? (
        <input
          className="tag-input"
          placeholder={tags.length ? 'Add tag' : 'Add a tag'}
          aria-label="Add tag"
          value={draft}
          maxLength={MAX_TAG_CHARS * 4}
          disabled={update.isPending}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' || e.key === ',') {
              e.preventDefault();
              add();
            }
            if (e.key === 'Backspace' && !draft && tags.length) update.mutate({ runId, tags: tags.slice(0, -1) });
          }}
          onBlur={() => draft.trim() && add()}
          data-testid="tag-input"
        />
      ) : null}
      <FormError error={update.error} />
    </div>
  );
}
