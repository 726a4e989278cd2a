// replaceContent: the edit that makes a document look like an older version again.
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { replaceContent } from './versions.ts';

/** A doc as the server sees it: decoded from bytes, so roots are untyped until asked. */
const decoded = (doc: Y.Doc) => {
  const copy = new Y.Doc();
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
  return copy;
};

function paragraph(text: string, attrs: Record<string, string> = {}) {
  const p = new Y.XmlElement('paragraph');
  for (const [k, v] of Object.entries(attrs)) p.setAttribute(k, v);
  p.insert(0, [new Y.XmlText(text)]);
  return p;
}

describe('replaceContent', () => {
  it('brings back a ProseMirror fragment, text, map and array as forward edits', () => {
    const live = new Y.Doc();
    live.getXmlFragment('default').insert(0, [paragraph('first', { textAlign: 'left' }), paragraph('second')]);
    live.getText('title').insert(0, 'Old title');
    live.getText('title').format(0, 3, { bold: true });
    live.getMap('meta').set('a', 1);
    live.getArray('list').insert(0, [1, 2, 3]);
    const version = decoded(live);

    // later edits by someone else
    live.getXmlFragment('default').delete(0, 1);
    live.getXmlFragment('default').insert(1, [paragraph('third')]);
    live.getText('title').insert(0, 'New ');
    live.getMap('meta').set('a', 2);
    live.getMap('meta').set('b', 3);
    live.getArray('list').delete(0, 2);
    const stateBefore = Y.encodeStateVector(live);

    const server = decoded(live);
    const sv = Y.encodeStateVector(server);
    replaceContent(server, decoded(version));
    const update = Y.encodeStateAsUpdate(server, sv);

    // a client that receives only the restore update sees the old content again
    Y.applyUpdate(live, update);
    expect(live.getXmlFragment('default').toString()).toBe(version.getXmlFragment('default').toString());
    expect(live.getText('title').toDelta()).toEqual(version.getText('title').toDelta());
    expect(live.getMap('meta').toJSON()).toEqual({ a: 1 });
    expect(live.getArray('list').toJSON()).toEqual([1, 2, 3]);
    // forward: everything the live doc had is still part of the state, the restore adds to it
    const after = Y.decodeStateVector(Y.encodeStateVector(live));
    for (const [client, clock] of Y.decodeStateVector(stateBefore)) expect(after.get(client)).toBeGreaterThanOrEqual(clock);
  });

  it('produces no update when the document already matches', () => {
    const live = new Y.Doc();
    live.getXmlFragment('default').insert(0, [paragraph('same')]);
    const server = decoded(live);
    const sv = Y.encodeStateVector(server);
    replaceContent(server, decoded(live));
    const { structs, ds } = Y.decodeUpdate(Y.encodeStateAsUpdate(server, sv));
    expect(structs.length + ds.clients.size).toBe(0);
  });

  it('empties roots the version did not have content in', () => {
    const version = new Y.Doc();
    const live = decoded(version);
    live.getText('notes').insert(0, 'added later');
    const server = decoded(live);
    replaceContent(server, decoded(version));
    expect(server.getText('notes').toString()).toBe('');
  });
});
