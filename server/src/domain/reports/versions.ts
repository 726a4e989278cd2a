// Report history: versions (automatic once editing goes quiet, or named on demand), each a
// snapshot of the whole document with the authors since the previous version; fetching one
// for preview/diff/replay; restoring one as a new forward change.
import { and, type Db, desc, eq, inArray, reportVersions, sql, users } from '@cellmark/db';
import * as Y from 'yjs';
import type { Logger } from '../../logger.ts';
import { DomainError } from '../errors.ts';
import { type Actor, requireReport } from '../policy.ts';
import { withLockedState } from './store.ts';

/** Applies a change to a report's live document through whatever holds it (the collab rooms). */
export interface ReportDocs {
  /**
   * Runs `change` on a copy of the current document, stores the resulting update as
   * `userId`'s edit and delivers it to every connected client. Resolves once stored.
   */
  edit(reportId: string, userId: string, change: (doc: Y.Doc) => void): Promise<{ changed: boolean }>;
}

export interface VersionSummary {
  id: string;
  reportId: string;
  kind: 'auto' | 'named';
  name: string | null;
  createdAt: Date;
  createdBy: { id: string; name: string } | null;
  authors: { id: string; name: string }[];
  /** size of the stored snapshot, for the UI to warn before fetching a huge one */
  snapshotBytes: number;
}

/**
 * Records a version from what is stored now (snapshot + update rows). An automatic one is
 * skipped (null) when nothing was stored since the previous version.
 */
export async function recordVersion(
  db: Db,
  reportId: string,
  options: { kind: 'auto' | 'named'; name?: string | null; createdBy?: string | null; logger?: Logger | undefined },
): Promise<{ id: string } | null> {
  // under the lock compaction takes: the snapshot and the rows are read as one state (a row
  // that does not apply is quarantined, as a load would, and left out of the version)
  return withLockedState(db, reportId, options.logger, async ({ doc, snapshot, rows, uptoSeq }, tx) => {
    const [previous] = await tx
      .select({ uptoSeq: reportVersions.uptoSeq })
      .from(reportVersions)
      .where(eq(reportVersions.reportId, reportId))
      .orderBy(desc(reportVersions.uptoSeq), desc(reportVersions.createdAt))
      .limit(1);
    const since = previous?.uptoSeq ?? 0;
    if (options.kind === 'auto' && (uptoSeq <= since || (!snapshot && !rows.length))) return null;
    const authors = new Set<string>();
    for (const [userId, seq] of Object.entries(snapshot?.authors ?? {})) if (seq > since) authors.add(userId);
    for (const r of rows) if (r.userId && r.seq > since) authors.add(r.userId);
    const [row] = await tx
      .insert(reportVersions)
      .values({
        reportId,
        kind: options.kind,
        name: options.name ?? null,
        createdBy: options.createdBy ?? null,
        uptoSeq,
        authors: [...authors],
        snapshot: Y.encodeStateAsUpdate(doc),
      })
      .returning({ id: reportVersions.id });
    return row!;
  });
}

export async function createNamedVersion(db: Db, actor: Actor, input: { reportId: string; name: string }) {
  await requireReport(db, actor, input.reportId, 'write');
  const name = input.name.trim();
  if (!name) throw new DomainError('INVALID_INPUT', 'name: a named version needs a name');
  const created = await recordVersion(db, input.reportId, { kind: 'named', name, createdBy: actor.userId });
  return (await summaries(db, input.reportId, [created!.id]))[0]!;
}

export async function listVersions(db: Db, actor: Actor, reportId: string) {
  await requireReport(db, actor, reportId, 'read');
  return summaries(db, reportId, null);
}

async function summaries(db: Db, reportId: string, ids: string[] | null): Promise<VersionSummary[]> {
  const rows = await db
    .select({
      id: reportVersions.id,
      reportId: reportVersions.reportId,
      kind: reportVersions.kind,
      name: reportVersions.name,
      createdAt: reportVersions.createdAt,
      createdBy: reportVersions.createdBy,
      authors: reportVersions.authors,
      snapshotBytes: sql<number>`octet_length(${reportVersions.snapshot})::int`,
    })
    .from(reportVersions)
    .where(and(eq(reportVersions.reportId, reportId), ids ? inArray(reportVersions.id, ids) : undefined))
    .orderBy(desc(reportVersions.createdAt), desc(reportVersions.uptoSeq));
  const userIds = [...new Set(rows.flatMap((r) => [...r.authors, ...(r.createdBy ? [r.createdBy] : [])]))];
  const names = new Map(
    userIds.length
      ? (await db.select({ id: users.id, name: users.name }).from(users).where(inArray(users.id, userIds))).map((u) => [u.id, u.name] as const)
      : [],
  );
  const who = (id: string) => ({ id, name: names.get(id) ?? 'deleted user' });
  return rows.map((r) => ({ ...r, createdBy: r.createdBy ? who(r.createdBy) : null, authors: r.authors.map(who) }));
}

/** One version with its snapshot (a Yjs update, base64) for read-only preview, diff and replay. */
export async function getVersion(db: Db, actor: Actor, input: { reportId: string; versionId: string }) {
  await requireReport(db, actor, input.reportId, 'read');
  const [summary] = await summaries(db, input.reportId, [input.versionId]);
  if (!summary) throw new DomainError('NOT_FOUND', `version ${input.versionId} does not exist in this report`);
  const [row] = await db.select({ snapshot: reportVersions.snapshot }).from(reportVersions).where(eq(reportVersions.id, input.versionId));
  return { ...summary, snapshot: Buffer.from(row!.snapshot).toString('base64') };
}

/**
 * Restores a version as a new forward change: the edit that turns the current document into
 * the version's content, applied through the live rooms so every client receives it. Nothing
 * is erased: the history before the restore stays, and the restore itself becomes a version.
 */
export async function restoreVersion(db: Db, actor: Actor, docs: ReportDocs, input: { reportId: string; versionId: string }) {
  await requireReport(db, actor, input.reportId, 'write');
  const [version] = await db
    .select({ snapshot: reportVersions.snapshot, name: reportVersions.name, createdAt: reportVersions.createdAt })
    .from(reportVersions)
    .where(and(eq(reportVersions.id, input.versionId), eq(reportVersions.reportId, input.reportId)));
  if (!version) throw new DomainError('NOT_FOUND', `version ${input.versionId} does not exist in this report`);
  const target = new Y.Doc();
  Y.applyUpdate(target, new Uint8Array(version.snapshot));
  const { changed } = await docs.edit(input.reportId, actor.userId, (doc) => replaceContent(doc, target));
  target.destroy();
  const label = version.name ?? version.createdAt.toISOString();
  const created = await recordVersion(db, input.reportId, { kind: 'named', name: `Restored ${label}`, createdBy: actor.userId });
  return { changed, version: (await summaries(db, input.reportId, [created!.id]))[0]! };
}

type RootKind = 'text' | 'xml' | 'array' | 'map';

/** What a root type is, read from its content (a decoded doc only knows AbstractType). */
// biome-ignore lint/suspicious/noExplicitAny: Yjs types a doc's roots as AbstractType<YEvent<any>>; unknown does not accept them
function rootKind(type: Y.AbstractType<any>): RootKind | null {
  if (type instanceof Y.XmlFragment) return 'xml';
  if (type instanceof Y.Text) return 'text';
  if (type instanceof Y.Array) return 'array';
  if (type instanceof Y.Map) return 'map';
  for (let item = type._start; item; item = item.right) {
    const content = item.content;
    if (content instanceof Y.ContentString || content instanceof Y.ContentFormat || content instanceof Y.ContentEmbed) return 'text';
    if (content instanceof Y.ContentType) {
      const t = content.type;
      return t instanceof Y.XmlElement || t instanceof Y.XmlText || t instanceof Y.XmlHook ? 'xml' : 'array';
    }
    if (content instanceof Y.ContentAny || content instanceof Y.ContentBinary || content instanceof Y.ContentJSON || content instanceof Y.ContentDoc)
      return 'array';
  }
  return type._map.size ? 'map' : null;
}

function typed(doc: Y.Doc, name: string, kind: RootKind) {
  switch (kind) {
    case 'text':
      return doc.getText(name);
    case 'xml':
      return doc.getXmlFragment(name);
    case 'array':
      return doc.getArray(name);
    case 'map':
      return doc.getMap(name);
  }
}

const cloneValue = (v: unknown) => (v instanceof Y.AbstractType ? (v as Y.AbstractType<unknown> & { clone(): unknown }).clone() : v);

/**
 * Makes `doc`'s content equal to `target`'s, root by root, in one transaction. Roots that
 * already match are left alone; the others are replaced wholesale (a forward edit, so the
 * old content stays in the history).
 */
export function replaceContent(doc: Y.Doc, target: Y.Doc) {
  const names = new Set([...doc.share.keys(), ...target.share.keys()]);
  doc.transact(() => {
    for (const name of names) {
      const there = target.share.get(name);
      const here = doc.share.get(name);
      const kind = (there && rootKind(there)) ?? (here && rootKind(here));
      if (!kind) continue;
      const from = typed(target, name, kind);
      const to = typed(doc, name, kind);
      if (kind === 'map') {
        const src = from as Y.Map<unknown>;
        const dst = to as Y.Map<unknown>;
        for (const key of [...dst.keys()]) if (!src.has(key)) dst.delete(key);
        for (const [key, value] of src.entries()) {
          if (JSON.stringify(jsonOf(dst.get(key))) !== JSON.stringify(jsonOf(value))) dst.set(key, cloneValue(value));
        }
        continue;
      }
      if (kind === 'text') {
        const src = from as Y.Text;
        const dst = to as Y.Text;
        if (JSON.stringify(src.toDelta()) === JSON.stringify(dst.toDelta())) continue;
        dst.delete(0, dst.length);
        dst.applyDelta(src.toDelta().map((op: { insert: unknown }) => ({ ...op, insert: cloneValue(op.insert) })));
        continue;
      }
      const src = from as Y.Array<unknown> | Y.XmlFragment;
      const dst = to as Y.Array<unknown> | Y.XmlFragment;
      if (JSON.stringify(jsonOf(src)) === JSON.stringify(jsonOf(dst))) continue;
      dst.delete(0, dst.length);
      (dst as Y.Array<unknown>).insert(0, src.toArray().map(cloneValue));
    }
  });
}

function jsonOf(value: unknown): unknown {
  if (value instanceof Y.XmlFragment || value instanceof Y.XmlElement || value instanceof Y.XmlText) return value.toString();
  if (value instanceof Y.AbstractType) return (value as Y.AbstractType<unknown> & { toJSON(): unknown }).toJSON();
  return value;
}
