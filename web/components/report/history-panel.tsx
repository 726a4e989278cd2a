// The report's History: versions (time, authors), "Save version", a read-only preview of one,
// its changes against another version (word-level, on plain text), Restore (a forward edit the
// live editor receives through the room), and Replay from the first version to the last.
'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { ErrorBox, FormError, Loading } from '@/components/query-state.tsx';
import { diffWords, fragmentText } from '@/lib/report-diff.ts';
import { type Outputs, useTRPC } from '@/lib/trpc.ts';
import { docFromSnapshot, ReadOnlyDoc, type ReadOnlyPlace } from './read-only-doc.tsx';
import { REPORT_FRAGMENT } from './report-editor.tsx';
import './history.css';

type Version = Outputs['reportHistory']['list'][number];

export function versionLabel(v: Version): string {
  return v.name ?? 'Automatic version';
}

function when(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function HistoryPanel({ place, canWrite, onClose }: { place: ReadOnlyPlace; canWrite: boolean; onClose: () => void }) {
  const { reportId } = place;
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const versions = useQuery({ ...trpc.reportHistory.list.queryOptions({ reportId }), refetchInterval: 15_000 });
  const refresh = () => queryClient.invalidateQueries(trpc.reportHistory.list.queryFilter({ reportId }));
  const [name, setName] = useState('');
  const save = useMutation(
    trpc.reportHistory.create.mutationOptions({
      onSuccess: () => {
        setName('');
        void refresh();
      },
    }),
  );
  const [selected, setSelected] = useState<string | null>(null);
  const [replay, setReplay] = useState(false);
  const list = versions.data ?? [];

  return (
    <aside className="card history-panel" data-testid="history-panel">
      <div className="panel-head">
        <strong>History</strong>
        <span className="muted small">{list.length} versions</span>
        <span style={{ flex: 1 }} />
        <button type="button" className="btn btn-sm" data-testid="replay-open" disabled={list.length === 0} onClick={() => setReplay(!replay)}>
          {replay ? 'Back to versions' : 'Replay'}
        </button>
        <button type="button" className="btn btn-sm" data-testid="history-close" onClick={onClose}>
          Close
        </button>
      </div>
      <div className="panel-body">
        {canWrite ? (
          <form
            className="row"
            onSubmit={(e) => {
              e.preventDefault();
              if (name.trim()) save.mutate({ reportId, name: name.trim() });
            }}
          >
            <input
              className="input"
              data-testid="version-name"
              placeholder="Name this version"
              value={name}
              maxLength={200}
              onChange={(e) => setName(e.target.value)}
            />
            <button type="submit" className="btn btn-primary btn-sm" data-testid="save-version" disabled={!name.trim() || save.isPending}>
              Save version
            </button>
          </form>
        ) : null}
        <FormError error={save.error} />
        {versions.isPending ? <Loading /> : null}
        {versions.isError ? <ErrorBox error={versions.error} /> : null}
        {versions.isSuccess && list.length === 0 ? (
          <p className="muted small">No versions yet: one is kept a couple of minutes after edits stop, or save one now.</p>
        ) : null}
        {replay ? (
          <Replay place={place} versions={list} />
        ) : (
          <>
            <ul className="version-list">
              {list.map((v) => (
                <li key={v.id}>
                  <button
                    type="button"
                    className={`version-row${selected === v.id ? ' selected' : ''}`}
                    data-testid="version-row"
                    data-version-id={v.id}
                    data-name={v.name ?? ''}
                    aria-pressed={selected === v.id}
                    onClick={() => setSelected(selected === v.id ? null : v.id)}
                  >
                    <span className="version-name">{versionLabel(v)}</span>
                    <span className="muted small">{when(v.createdAt)}</span>
                    <span className="muted small" data-testid="version-authors">
                      {v.authors.length ? v.authors.map((a) => a.name).join(', ') : 'no edits'}
                    </span>
                  </button>
                </li>
              ))}
            </ul>
            {selected ? (
              <VersionDetail key={selected} place={place} versions={list} versionId={selected} canWrite={canWrite} onRestored={() => void refresh()} />
            ) : null}
          </>
        )}
      </div>
    </aside>
  );
}

function useVersionDoc(reportId: string, versionId: string | null) {
  const trpc = useTRPC();
  const version = useQuery({
    ...trpc.reportHistory.get.queryOptions({ reportId, versionId: versionId ?? '' }),
    enabled: versionId !== null,
    staleTime: Infinity,
  });
  const doc = useMemo(() => (version.data ? docFromSnapshot(version.data.snapshot) : null), [version.data]);
  useEffect(() => () => doc?.destroy(), [doc]);
  return { version, doc };
}

function VersionDetail({
  place,
  versions,
  versionId,
  canWrite,
  onRestored,
}: {
  place: ReadOnlyPlace;
  versions: Version[];
  versionId: string;
  canWrite: boolean;
  onRestored: () => void;
}) {
  const trpc = useTRPC();
  const { reportId } = place;
  const index = versions.findIndex((v) => v.id === versionId);
  // compare with the version before it by default (the list is newest first)
  const [baseId, setBaseId] = useState<string | null>(versions[index + 1]?.id ?? null);
  const [tab, setTab] = useState<'preview' | 'changes'>('preview');
  const [confirming, setConfirming] = useState(false);
  const { version, doc } = useVersionDoc(reportId, versionId);
  const restore = useMutation(
    trpc.reportHistory.restore.mutationOptions({
      onSuccess: () => {
        setConfirming(false);
        onRestored();
      },
    }),
  );
  const v = versions[index];
  if (!v) return null;

  return (
    <div className="version-detail" data-testid="version-detail" data-version-id={versionId}>
      <div className="row" style={{ flexWrap: 'wrap' }}>
        <button type="button" className={`btn btn-sm${tab === 'preview' ? ' btn-primary' : ''}`} data-testid="tab-preview" onClick={() => setTab('preview')}>
          Preview
        </button>
        <button type="button" className={`btn btn-sm${tab === 'changes' ? ' btn-primary' : ''}`} data-testid="tab-changes" onClick={() => setTab('changes')}>
          Changes
        </button>
        <span style={{ flex: 1 }} />
        {canWrite && !confirming ? (
          <button type="button" className="btn btn-sm btn-danger" data-testid="restore-version" onClick={() => setConfirming(true)}>
            Restore
          </button>
        ) : null}
      </div>
      {confirming ? (
        <div className="restore-confirm" data-testid="restore-confirm">
          <p className="small">Make the report look like “{versionLabel(v)}” again? This is a new edit everyone sees; nothing in the history is lost.</p>
          <div className="row">
            <button
              type="button"
              className="btn btn-sm btn-danger"
              data-testid="restore-confirm-yes"
              disabled={restore.isPending}
              onClick={() => restore.mutate({ reportId, versionId })}
            >
              Restore
            </button>
            <button type="button" className="btn btn-sm" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        </div>
      ) : null}
      <FormError error={restore.error} />
      {restore.isSuccess ? (
        <p className="small" data-testid="restore-done">
          {restore.data.changed ? 'Restored: the editor now shows this version.' : 'The report already matched this version.'}
        </p>
      ) : null}
      {version.isError ? <ErrorBox error={version.error} /> : null}
      {tab === 'preview' ? (
        doc ? (
          <div className="version-preview">
            <ReadOnlyDoc key={versionId} doc={doc} testId="version-preview" place={place} />
          </div>
        ) : (
          <Loading />
        )
      ) : (
        <>
          <label className="row small">
            Compared with
            <select className="select" data-testid="diff-base" value={baseId ?? ''} onChange={(e) => setBaseId(e.target.value || null)}>
              <option value="">(empty report)</option>
              <option value={CURRENT}>The report now (what Restore would change)</option>
              {versions
                .filter((o) => o.id !== versionId)
                .map((o) => (
                  <option key={o.id} value={o.id}>
                    {versionLabel(o)} · {when(o.createdAt)}
                  </option>
                ))}
            </select>
          </label>
          {doc ? <Changes reportId={reportId} baseId={baseId} doc={doc} /> : <Loading />}
        </>
      )}
    </div>
  );
}

/** diff-base value: the live document rather than a stored version */
const CURRENT = 'current';

function Changes({ reportId, baseId, doc }: { reportId: string; baseId: string | null; doc: Y.Doc }) {
  const base = useVersionDoc(reportId, baseId === CURRENT ? null : baseId);
  const current = useCurrentText(reportId, baseId === CURRENT);
  if (baseId === CURRENT && current === null) return <Loading />;
  if (baseId && baseId !== CURRENT && !base.doc) return base.version.isError ? <ErrorBox error={base.version.error} /> : <Loading />;
  const before = baseId === CURRENT ? current! : base.doc ? fragmentText(base.doc.getXmlFragment(REPORT_FRAGMENT)) : '';
  const after = fragmentText(doc.getXmlFragment(REPORT_FRAGMENT));
  const parts = diffWords(before, after);
  const changed = parts.some((p) => p.kind !== 'same');
  return (
    <div className="version-diff" data-testid="version-diff">
      {changed ? null : <p className="muted small">No text changes.</p>}
      {parts.map((p, i) => {
        const Tag = p.kind === 'added' ? 'ins' : p.kind === 'removed' ? 'del' : 'span';
        const testId = p.kind === 'same' ? undefined : `diff-${p.kind}`;
        return (
          // biome-ignore lint/suspicious/noArrayIndexKey: the diff is recomputed whole on every change; a part is its position
          <Tag key={i} data-testid={testId}>
            {p.text}
          </Tag>
        );
      })}
    </div>
  );
}

/**
 * The live document's text, from a socket of its own (no presence: awareness is cleared, and it
 * never edits), updated as people type. Only while "the report now" is the comparison.
 */
function useCurrentText(reportId: string, enabled: boolean): string | null {
  const [text, setText] = useState<string | null>(null);
  useEffect(() => {
    if (!enabled) return;
    const ydoc = new Y.Doc();
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
    const provider = new WebsocketProvider(`${scheme}://${window.location.host}/collab`, reportId, ydoc, { connect: false, disableBc: true });
    provider.awareness.setLocalState(null);
    const fragment = ydoc.getXmlFragment(REPORT_FRAGMENT);
    const read = () => {
      if (provider.synced) setText(fragmentText(fragment));
    };
    provider.on('sync', read);
    fragment.observeDeep(read);
    const start = setTimeout(() => provider.connect(), 0);
    return () => {
      clearTimeout(start);
      provider.destroy();
      ydoc.destroy();
      setText(null);
    };
  }, [reportId, enabled]);
  return text;
}

/** Oldest → newest, one version at a time: how the report came to be. */
function Replay({ place, versions }: { place: ReadOnlyPlace; versions: Version[] }) {
  const { reportId } = place;
  const ordered = useMemo(() => [...versions].reverse(), [versions]);
  const [step, setStep] = useState(0);
  const at = Math.min(step, ordered.length - 1);
  const v = ordered[at];
  const { doc } = useVersionDoc(reportId, v?.id ?? null);
  if (!v) return null;
  return (
    <div className="replay" data-testid="replay">
      <div className="row">
        <button type="button" className="btn btn-sm" data-testid="replay-prev" disabled={at === 0} onClick={() => setStep(at - 1)}>
          ← Previous
        </button>
        <input
          type="range"
          data-testid="replay-slider"
          aria-label="Version"
          min={0}
          max={ordered.length - 1}
          value={at}
          onChange={(e) => setStep(Number(e.target.value))}
          style={{ flex: 1 }}
        />
        <button type="button" className="btn btn-sm" data-testid="replay-next" disabled={at === ordered.length - 1} onClick={() => setStep(at + 1)}>
          Next →
        </button>
      </div>
      <p className="small" data-testid="replay-step" data-step={at + 1} data-name={v.name ?? ''}>
        {at + 1} / {ordered.length} · <strong>{versionLabel(v)}</strong> · {when(v.createdAt)} · {v.authors.map((a) => a.name).join(', ') || 'no edits'}
      </p>
      {doc ? (
        <div className="version-preview">
          <ReadOnlyDoc key={v.id} doc={doc} testId="replay-doc" place={place} />
        </div>
      ) : (
        <Loading />
      )}
    </div>
  );
}
