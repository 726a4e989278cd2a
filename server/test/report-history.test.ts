// Report history and sharing end to end: compaction under live editing, automatic and
// named versions, restore as a forward change, view-only share links.
import { count, eq, reportSnapshots, reportUpdates } from '@cellmark/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { forgedUpdate, provider, rawSocket } from './collab-clients.ts';
import { errorOf, eventually, signUp, startTestServer, type TestServer, type TestUser, trpcClient, userWithProject } from './helpers.ts';

let server: TestServer;
let owner: Awaited<ReturnType<typeof userWithProject>>;
let editor: TestUser;
let viewer: TestUser;
const providers: WebsocketProvider[] = [];

beforeAll(async () => {
  server = await startTestServer({ CELLMARK_REPORT_COMPACT_UPDATES: '10', CELLMARK_REPORT_VERSION_QUIET_MS: '400', CELLMARK_COLLAB_REAUTH_MS: '200' });
  owner = await userWithProject(server, 'owner');
  editor = await signUp(server, 'editor');
  viewer = await signUp(server, 'viewer');
  await owner.api.teams.addMember.mutate({ teamId: owner.team.id, email: editor.email, role: 'editor' });
  await owner.api.teams.addMember.mutate({ teamId: owner.team.id, email: viewer.email, role: 'viewer' });
});
afterAll(async () => {
  providers.forEach((p) => p.destroy());
  await server?.dispose();
});

const newReport = async (title = 'History') => (await owner.api.reports.create.mutate({ projectId: owner.project.id, title })).id;
const connect = (reportId: string, who: { cookie?: string; share?: string }) => provider(server, reportId, who, providers);
const synced = (...cs: { provider: WebsocketProvider }[]) => eventually(() => expect(cs.every((c) => c.provider.synced)).toBe(true));
const textOfSnapshot = (base64: string) => {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, Buffer.from(base64, 'base64'));
  return doc.getText('content').toString();
};

describe('compaction while editing', () => {
  it('folds the log into a snapshot past the threshold and loads the same document', async () => {
    const reportId = await newReport();
    const a = connect(reportId, owner);
    await synced(a);
    for (let i = 0; i < 45; i++) a.text.insert(a.text.length, String(i % 10));
    const expected = a.text.toString();
    await eventually(async () => {
      const [snap] = await server.database.db.select().from(reportSnapshots).where(eq(reportSnapshots.reportId, reportId));
      expect(snap?.mergedUpdates).toBeGreaterThanOrEqual(40);
      const [rows] = await server.database.db.select({ n: count() }).from(reportUpdates).where(eq(reportUpdates.reportId, reportId));
      expect(rows!.n).toBeLessThan(10);
      expect(snap!.mergedUpdates + rows!.n).toBe(45);
    });
    a.provider.destroy();
    await eventually(() => expect(server.collab.rooms.has(reportId)).toBe(false));
    const b = connect(reportId, viewer);
    await eventually(() => expect(b.text.toString()).toBe(expected));
  });
});

describe('versions', () => {
  it('records an automatic version when editing goes quiet, with the authors since the previous one', async () => {
    const reportId = await newReport();
    const a = connect(reportId, owner);
    const b = connect(reportId, editor);
    await synced(a, b);
    a.text.insert(0, 'hello ');
    b.text.insert(0, 'world ');
    await eventually(async () => expect(await owner.api.reportHistory.list.query({ reportId })).toHaveLength(1), 5000);
    const [first] = await owner.api.reportHistory.list.query({ reportId });
    expect(first).toMatchObject({ kind: 'auto', name: null });
    expect(first!.authors.map((x) => x.id).sort()).toEqual([owner.id, editor.id].sort());

    a.text.insert(a.text.length, 'again');
    await eventually(async () => expect(await owner.api.reportHistory.list.query({ reportId })).toHaveLength(2), 5000);
    const [second] = await viewer.api.reportHistory.list.query({ reportId });
    expect(second!.authors.map((x) => x.id)).toEqual([owner.id]);
    const full = await viewer.api.reportHistory.get.query({ reportId, versionId: second!.id });
    expect(textOfSnapshot(full.snapshot)).toBe(a.text.toString());
  });

  it('names a version on demand, restores it as a forward change everyone receives', async () => {
    const reportId = await newReport();
    const a = connect(reportId, owner);
    const b = connect(reportId, editor);
    await synced(a, b);
    a.text.insert(0, 'draft one');
    await eventually(() => expect(b.text.toString()).toBe('draft one'));
    const named = await editor.api.reportHistory.create.mutate({ reportId, name: ' Before review ' });
    expect(named).toMatchObject({ kind: 'named', name: 'Before review', createdBy: { id: editor.id } });
    expect(named.authors.map((x) => x.id)).toEqual([owner.id]);

    b.text.delete(0, b.text.length);
    b.text.insert(0, 'rewritten by bob');
    await eventually(() => expect(a.text.toString()).toBe('rewritten by bob'));
    const [stored] = await server.database.db.select({ n: count() }).from(reportUpdates).where(eq(reportUpdates.reportId, reportId));

    const restored = await owner.api.reportHistory.restore.mutate({ reportId, versionId: named.id });
    expect(restored.changed).toBe(true);
    expect(restored.version).toMatchObject({ kind: 'named', name: 'Restored Before review' });
    await eventually(() => {
      expect(a.text.toString()).toBe('draft one');
      expect(b.text.toString()).toBe('draft one');
    });
    // nothing erased: the log only grew, and the older version is still there
    const [after] = await server.database.db.select({ n: count() }).from(reportUpdates).where(eq(reportUpdates.reportId, reportId));
    expect(after!.n).toBeGreaterThan(stored!.n);
    const versions = await owner.api.reportHistory.list.query({ reportId });
    expect(versions.map((v) => v.name)).toContain('Before review');
    // restoring what is already there is a no-op edit
    const again = await owner.api.reportHistory.restore.mutate({ reportId, versionId: named.id });
    expect(again.changed).toBe(false);
  });

  it('restores a report nobody has open, and the next visitor sees it', async () => {
    const reportId = await newReport();
    const a = connect(reportId, owner);
    await synced(a);
    a.text.insert(0, 'v1');
    const v1 = await owner.api.reportHistory.create.mutate({ reportId, name: 'v1' });
    a.text.insert(2, ' and more');
    await eventually(async () => expect((await owner.api.reportHistory.list.query({ reportId })).length).toBe(2), 5000);
    a.provider.destroy();
    await eventually(() => expect(server.collab.rooms.has(reportId)).toBe(false));
    await owner.api.reportHistory.restore.mutate({ reportId, versionId: v1.id });
    const c = connect(reportId, viewer);
    await eventually(() => expect(c.text.toString()).toBe('v1'));
    // the restore is one version, not an automatic one beside it
    await eventually(() => expect(server.collab.rooms.has(reportId)).toBe(true));
    expect((await owner.api.reportHistory.list.query({ reportId })).map((v) => v.name)).toEqual(['Restored v1', null, 'v1']);
  });

  it('checks access and input', async () => {
    const reportId = await newReport();
    const outsider = await userWithProject(server, 'outsider');
    await expect(viewer.api.reportHistory.create.mutate({ reportId, name: 'x' }).catch(errorOf)).resolves.toMatchObject({ code: 'FORBIDDEN' });
    const v = await owner.api.reportHistory.create.mutate({ reportId, name: 'empty' });
    await expect(viewer.api.reportHistory.restore.mutate({ reportId, versionId: v.id }).catch(errorOf)).resolves.toMatchObject({ code: 'FORBIDDEN' });
    await expect(outsider.api.reportHistory.list.query({ reportId }).catch(errorOf)).resolves.toMatchObject({ code: 'FORBIDDEN' });
    await expect(outsider.api.reportHistory.get.query({ reportId, versionId: v.id }).catch(errorOf)).resolves.toMatchObject({ code: 'FORBIDDEN' });
    const other = await newReport('Other');
    // a version id from another report is not found through this one
    await expect(owner.api.reportHistory.get.query({ reportId: other, versionId: v.id }).catch(errorOf)).resolves.toMatchObject({ code: 'NOT_FOUND' });
    await expect(owner.api.reportHistory.restore.mutate({ reportId: other, versionId: v.id }).catch(errorOf)).resolves.toMatchObject({ code: 'NOT_FOUND' });
    const bad = (await owner.api.reportHistory.create.mutate({ reportId, name: '   ' }).catch(errorOf)) as ReturnType<typeof errorOf>;
    expect(bad).toMatchObject({ code: 'BAD_REQUEST' });
    expect(bad.message).toMatch(/name/);
    expect(await owner.api.reportHistory.list.query({ reportId })).toHaveLength(1);
  });
});

describe('share links', () => {
  it('open the report read-only without an account, until revoked', async () => {
    const reportId = await newReport('Shared notes');
    const a = connect(reportId, owner);
    await synced(a);
    a.text.insert(0, 'public words');
    const share = await owner.api.reportShares.create.mutate({ reportId });
    expect(share.token).toMatch(/^cms_/);
    expect((await owner.api.reportShares.list.query({ reportId }))[0]).toMatchObject({ id: share.id, prefix: share.token.slice(0, 10), revokedAt: null });
    expect(JSON.stringify(await owner.api.reportShares.list.query({ reportId }))).not.toContain(share.token);

    const anonymous = trpcClient(server.url);
    const page = await anonymous.reportShares.open.query({ token: share.token });
    expect(page).toMatchObject({ report: { id: reportId, title: 'Shared notes' }, project: { id: owner.project.id }, canWrite: false });

    const guest = connect(reportId, { share: share.token });
    await eventually(() => expect(guest.text.toString()).toBe('public words'));
    a.text.insert(0, 'live ');
    await eventually(() => expect(guest.text.toString()).toBe('live public words'));

    // a crafted edit over the share link is refused and changes nothing
    const [before] = await server.database.db.select({ n: count() }).from(reportUpdates).where(eq(reportUpdates.reportId, reportId));
    const raw = rawSocket(server, reportId, { share: share.token });
    await new Promise((r) => raw.ws.once('message', r));
    raw.ws.send(forgedUpdate());
    expect((await raw.closed).code).toBe(4403);
    const [after] = await server.database.db.select({ n: count() }).from(reportUpdates).where(eq(reportUpdates.reportId, reportId));
    expect(after!.n).toBe(before!.n);
    expect(a.text.toString()).not.toMatch(/vandalism/);

    // revoked: the live connection closes at the next re-check, new ones are refused
    const live = rawSocket(server, reportId, { share: share.token });
    await new Promise((r) => live.ws.once('message', r));
    await owner.api.reportShares.revoke.mutate({ reportId, shareId: share.id });
    expect((await live.closed).code).toBe(4403);
    expect((await rawSocket(server, reportId, { share: share.token }).closed).code).toBe(4403);
    await expect(anonymous.reportShares.open.query({ token: share.token }).catch(errorOf)).resolves.toMatchObject({ code: 'FORBIDDEN' });
    await expect(owner.api.reportShares.revoke.mutate({ reportId, shareId: share.id }).catch(errorOf)).resolves.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuse unknown tokens, other reports and viewers creating links', async () => {
    const reportId = await newReport();
    const other = await newReport('Other');
    const share = await owner.api.reportShares.create.mutate({ reportId });
    expect((await rawSocket(server, reportId, { share: 'cms_nope' }).closed).code).toBe(4401);
    expect((await rawSocket(server, reportId, { share: '' }).closed).code).toBe(4401);
    expect((await rawSocket(server, other, { share: share.token }).closed).code).toBe(4403);
    await expect(viewer.api.reportShares.create.mutate({ reportId }).catch(errorOf)).resolves.toMatchObject({ code: 'FORBIDDEN' });
    await expect(viewer.api.reportShares.list.query({ reportId }).catch(errorOf)).resolves.toMatchObject({ code: 'FORBIDDEN' });
    const anonymous = trpcClient(server.url);
    await expect(anonymous.reportShares.open.query({ token: 'cms_nope' }).catch(errorOf)).resolves.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(anonymous.reportShares.create.mutate({ reportId }).catch(errorOf)).resolves.toMatchObject({ code: 'UNAUTHORIZED' });
  });
});
