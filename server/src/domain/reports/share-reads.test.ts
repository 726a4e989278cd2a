// What a share link grants, read from a report document: every run chart block, nested or
// not, with its settings read as defensively as the web reads them.
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { runChartsIn, runFilterOfQuery } from './share-reads.ts';

function docWith(build: (body: Y.XmlFragment) => void) {
  const doc = new Y.Doc();
  build(doc.getXmlFragment('prosemirror'));
  return doc;
}
const element = (name: string, attrs: Record<string, unknown> = {}, children: Y.XmlElement[] = []) => {
  const el = new Y.XmlElement(name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v as string);
  el.insert(0, children);
  return el;
};

describe('runChartsIn', () => {
  it('finds run chart blocks at any depth and reads their settings defensively', () => {
    const runs = Array.from({ length: 120 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const [a, b] = runs;
    const doc = docWith((body) =>
      body.insert(0, [
        element('paragraph'),
        // an id that is not a uuid names no run (and must not reach a uuid column)
        element('runChart', { source: 'runs', runIds: [a, 'not-a-run', b], keys: ['loss', null] }),
        element('bulletList', {}, [
          element('listItem', {}, [element('runChart', { source: 'filter', filter: 'status=finished&tag=base', limit: '500', keys: ['acc'] })]),
        ]),
        element('runChart', { runIds: runs, keys: 'loss' }),
        element('runChart', { source: 'filter', filter: 42, limit: 'many' }),
      ]),
    );
    expect(runChartsIn(doc)).toEqual([
      // a list with anything but strings is no list, as the web reads it
      { source: 'runs', runIds: [a, b], keys: [] },
      { source: 'filter', filter: { status: ['finished'], tag: 'base' }, query: 'status=finished&tag=base', limit: 100, keys: ['acc'] },
      { source: 'runs', runIds: runs.slice(0, 100), keys: [] },
      { source: 'filter', filter: {}, query: '', limit: 10, keys: [] },
    ]);
  });

  it('finds nothing in an empty or never stored document', () => {
    expect(runChartsIn(new Y.Doc())).toEqual([]);
  });
});

describe('runFilterOfQuery', () => {
  it('reads a runs-table query as the web does (typed config values, unknown statuses dropped)', () => {
    expect(runFilterOfQuery('status=running,crashed&status=bogus&user=u1&notebook=%20train%20&tag=&cfg.lr=0.001&cfg.opt=adam&cfg.=x&cfg.empty=%20')).toEqual({
      status: ['running', 'crashed'],
      userId: 'u1',
      notebook: 'train',
      config: [
        { key: 'lr', value: 0.001 },
        { key: 'opt', value: 'adam' },
      ],
    });
    expect(runFilterOfQuery('')).toEqual({});
  });
});
