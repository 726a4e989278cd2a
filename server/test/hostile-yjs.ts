// fast-check arbitraries for what a hostile collab client sends: Yjs updates written by hand
// (any client, huge clocks, origins and parents that do not exist or are not types, any
// content kind, deletes of unknown items), real edits mutated byte by byte or sent without
// the edit they build on, random bytes; and awareness messages (others' ids, garbage and
// oversize states). Plans are abstract: they are resolved against the document at run time,
// so they can point at items that exist.
import fc from 'fast-check';
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';

/** Picks among a list at run time: an index or a fraction, never out of range. */
const pick = fc.nat();
const huge = fc.constantFrom(2 ** 31, 2 ** 32, 2 ** 53 - 1, Number.MAX_SAFE_INTEGER);
const clientOf = fc.oneof(fc.constant('known' as const), fc.nat({ max: 2 ** 32 - 1 }), huge);
const clockOf = fc.oneof(fc.constant('inside' as const), fc.constant('end' as const), fc.nat({ max: 1000 }), huge);

/** An id: of a struct the document has ('known', 'inside'), or anything. */
const idPlan = fc.record({ client: clientOf, clock: clockOf, which: pick });
type IdPlan = { client: 'known' | number; clock: 'inside' | 'end' | number; which: number };

const typeRef = fc.oneof(
  fc.record({ ref: fc.constantFrom(0, 1, 2, 4, 6) }),
  fc.record({ ref: fc.constantFrom(3, 5), name: fc.oneof(fc.constantFrom('paragraph', 'runChart', 'heading'), fc.string({ maxLength: 20 })) }),
  fc.record({ ref: fc.integer({ min: 7, max: 300 }) }), // no such type
);
const content = fc.oneof(
  fc.record({ kind: fc.constant('string' as const), text: fc.string({ unit: 'binary', maxLength: 40 }) }),
  fc.record({ kind: fc.constant('deleted' as const), len: fc.oneof(fc.nat({ max: 50 }), huge) }),
  fc.record({ kind: fc.constant('type' as const), type: typeRef }),
  fc.record({ kind: fc.constant('any' as const), values: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }) }),
  fc.record({ kind: fc.constant('json' as const), values: fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }) }),
  fc.record({ kind: fc.constant('embed' as const), json: fc.string({ maxLength: 20 }) }),
  fc.record({ kind: fc.constant('format' as const), key: fc.string({ maxLength: 8 }), json: fc.string({ maxLength: 20 }) }),
  fc.record({ kind: fc.constant('binary' as const), bytes: fc.uint8Array({ maxLength: 20 }) }),
  fc.record({ kind: fc.constant('doc' as const), guid: fc.string({ maxLength: 10 }) }),
  fc.record({ kind: fc.constant('gc' as const), len: fc.oneof(fc.nat({ max: 50 }), huge) }),
  fc.record({ kind: fc.constant('skip' as const), len: fc.oneof(fc.nat({ max: 50 }), huge) }),
  fc.record({ kind: fc.constant('raw' as const), ref: fc.integer({ min: 11, max: 31 }) }), // no such content
);
const itemPlan = fc.record({
  origin: fc.option(idPlan, { nil: null }),
  rightOrigin: fc.option(idPlan, { nil: null }),
  // the document's fragment, another root, or an item as the parent (a string: not a type)
  parent: fc.oneof(fc.constant({ root: 'prosemirror' }), fc.record({ root: fc.string({ maxLength: 12 }) }), fc.record({ id: idPlan })),
  parentSub: fc.option(fc.string({ maxLength: 8 }), { nil: null }),
  content,
});
const deletePlan = fc.record({
  client: clientOf,
  ranges: fc.array(fc.record({ clock: clockOf, len: fc.oneof(fc.nat({ max: 100 }), huge), which: pick }), { maxLength: 3 }),
});

/** A hand-written update: struct groups, then a delete set. */
const craftedPlan = fc.record({
  kind: fc.constant('crafted' as const),
  groups: fc.array(fc.record({ client: clientOf, clock: clockOf, which: pick, items: fc.array(itemPlan, { minLength: 1, maxLength: 4 }) }), { maxLength: 3 }),
  deletes: fc.array(deletePlan, { maxLength: 3 }),
});

/** A real edit of the current document (the editor's kind), optionally mutated. */
const editPlan = fc.record({
  op: fc.constantFrom('insert', 'delete', 'attr', 'paragraph'),
  at: pick,
  text: fc.string({ maxLength: 12 }),
});
const mutation = fc.oneof(
  fc.record({ op: fc.constant('set' as const), at: pick, byte: fc.nat({ max: 255 }) }),
  fc.record({ op: fc.constant('insert' as const), at: pick, bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ op: fc.constant('remove' as const), at: pick, len: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: pick }),
);
const realPlan = fc.record({
  kind: fc.constant('real' as const),
  edits: fc.array(editPlan, { minLength: 1, maxLength: 3 }),
  /** send the last edit only: it builds on edits the server never got */
  withholdFirst: fc.boolean(),
  mutations: fc.array(mutation, { maxLength: 4 }),
});
const randomPlan = fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 300 }) });

export const updatePlan = fc.oneof({ weight: 3, arbitrary: craftedPlan }, { weight: 3, arbitrary: realPlan }, { weight: 1, arbitrary: randomPlan });
export type UpdatePlan = typeof updatePlan extends fc.Arbitrary<infer T> ? T : never;

/** Structs the document has, per client: [client, next clock]. */
function clientsOf(doc: Y.Doc): [number, number][] {
  return [...Y.decodeStateVector(Y.encodeStateVector(doc))];
}

function resolveId(plan: IdPlan, clients: [number, number][]): { client: number; clock: number } {
  const [knownClient, knownEnd]: [number, number] = clients.length ? clients[plan.which % clients.length]! : [plan.which, 0];
  const client = plan.client === 'known' ? knownClient : plan.client;
  const end = plan.client === 'known' ? knownEnd : 0;
  const clock = plan.clock === 'inside' ? (end ? plan.which % end : 0) : plan.clock === 'end' ? end : plan.clock;
  return { client, clock };
}

function writeId(e: encoding.Encoder, id: { client: number; clock: number }) {
  encoding.writeVarUint(e, id.client);
  encoding.writeVarUint(e, id.clock);
}

/** Update format v1, as Yjs's UpdateEncoderV1 writes it (see yjs src/structs/Item.js write). */
function craft(plan: Extract<UpdatePlan, { kind: 'crafted' }>, doc: Y.Doc): Uint8Array {
  const clients = clientsOf(doc);
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, plan.groups.length);
  for (const group of plan.groups) {
    encoding.writeVarUint(e, group.items.length);
    writeId(e, resolveId(group, clients));
    for (const item of group.items) {
      const c = item.content;
      const ref = {
        deleted: 1,
        json: 2,
        binary: 3,
        string: 4,
        embed: 5,
        format: 6,
        type: 7,
        any: 8,
        doc: 9,
        gc: 0,
        skip: 10,
        raw: c.kind === 'raw' ? c.ref : 0,
      }[c.kind];
      if (c.kind === 'gc' || c.kind === 'skip') {
        encoding.writeUint8(e, ref);
        encoding.writeVarUint(e, c.len);
        continue;
      }
      const info = (item.origin ? 0x80 : 0) | (item.rightOrigin ? 0x40 : 0) | (item.parentSub ? 0x20 : 0) | ref;
      encoding.writeUint8(e, info);
      if (item.origin) writeId(e, resolveId(item.origin, clients));
      if (item.rightOrigin) writeId(e, resolveId(item.rightOrigin, clients));
      if (!item.origin && !item.rightOrigin) {
        if ('root' in item.parent) {
          encoding.writeVarUint(e, 1);
          encoding.writeVarString(e, item.parent.root);
        } else {
          encoding.writeVarUint(e, 0);
          writeId(e, resolveId(item.parent.id, clients));
        }
        if (item.parentSub) encoding.writeVarString(e, item.parentSub);
      }
      switch (c.kind) {
        case 'string':
          encoding.writeVarString(e, c.text);
          break;
        case 'deleted':
          encoding.writeVarUint(e, c.len);
          break;
        case 'type':
          encoding.writeVarUint(e, c.type.ref);
          if ('name' in c.type) encoding.writeVarString(e, c.type.name);
          break;
        case 'any':
          encoding.writeVarUint(e, c.values.length);
          c.values.forEach((v) => encoding.writeAny(e, v as never));
          break;
        case 'json':
          encoding.writeVarUint(e, c.values.length);
          c.values.forEach((v) => encoding.writeVarString(e, v));
          break;
        case 'embed':
          encoding.writeVarString(e, c.json);
          break;
        case 'format':
          encoding.writeVarString(e, c.key);
          encoding.writeVarString(e, c.json);
          break;
        case 'binary':
          encoding.writeVarUint8Array(e, c.bytes);
          break;
        case 'doc':
          encoding.writeVarString(e, c.guid);
          encoding.writeAny(e, {});
          break;
        case 'raw':
          break;
      }
    }
  }
  encoding.writeVarUint(e, plan.deletes.length);
  for (const d of plan.deletes) {
    const { client } = resolveId({ client: d.client, clock: 0, which: d.ranges[0]?.which ?? 0 }, clients);
    encoding.writeVarUint(e, client);
    encoding.writeVarUint(e, d.ranges.length);
    for (const r of d.ranges) {
      encoding.writeVarUint(e, resolveId({ client: d.client, clock: r.clock, which: r.which }, clients).clock);
      encoding.writeVarUint(e, r.len);
    }
  }
  return encoding.toUint8Array(e);
}

/** Real edits on a copy of `doc` (the report's ProseMirror fragment), as y-prosemirror makes them. */
function realEdits(plan: Extract<UpdatePlan, { kind: 'real' }>, doc: Y.Doc): Uint8Array {
  const copy = new Y.Doc();
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
  const updates: Uint8Array[] = [];
  copy.on('update', (u: Uint8Array) => updates.push(u));
  const fragment = copy.getXmlFragment('prosemirror');
  for (const edit of plan.edits) {
    const blocks = fragment.toArray();
    const block = blocks.length ? blocks[edit.at % blocks.length] : undefined;
    const text = block instanceof Y.XmlElement ? block.toArray().find((c): c is Y.XmlText => c instanceof Y.XmlText) : undefined;
    if (edit.op === 'paragraph' || !block) {
      const p = new Y.XmlElement('paragraph');
      p.insert(0, [new Y.XmlText(edit.text || 'x')]);
      fragment.insert(blocks.length ? edit.at % (blocks.length + 1) : 0, [p]);
    } else if (edit.op === 'attr' && block instanceof Y.XmlElement) block.setAttribute('data', edit.text);
    else if (text && edit.op === 'insert') text.insert(edit.at % (text.length + 1), edit.text || 'y');
    else if (text && edit.op === 'delete' && text.length) text.delete(edit.at % text.length, 1 + (edit.at % 3));
    else fragment.delete(edit.at % blocks.length, 1);
  }
  copy.destroy();
  const sent = plan.withholdFirst && updates.length > 1 ? updates.slice(1) : updates;
  let bytes = sent.length ? (sent.length === 1 ? sent[0]! : Y.mergeUpdates(sent)) : new Uint8Array([0, 0]);
  for (const m of plan.mutations) {
    const at = bytes.length ? m.at % bytes.length : 0;
    const next = [...bytes];
    if (m.op === 'set' && next.length) next[at] = m.byte;
    else if (m.op === 'insert') next.splice(at, 0, ...m.bytes);
    else if (m.op === 'remove') next.splice(at, m.len);
    else if (m.op === 'truncate') next.length = at;
    bytes = new Uint8Array(next);
  }
  return bytes;
}

/** The update bytes a plan stands for, against the document as it is now. */
export function updateOf(plan: UpdatePlan, doc: Y.Doc): Uint8Array {
  if (plan.kind === 'random') return plan.bytes;
  if (plan.kind === 'crafted') return craft(plan, doc);
  return realEdits(plan, doc);
}

/** Awareness messages: entries for any client id, with any state; or bytes. */
export const awarenessPlan = fc.oneof(
  fc.record({
    kind: fc.constant('entries' as const),
    entries: fc.array(
      fc.record({
        client: fc.oneof(fc.constant('victim' as const), fc.nat({ max: 2 ** 32 - 1 }), huge),
        clock: fc.oneof(fc.nat({ max: 5 }), huge),
        state: fc.oneof(
          fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
          fc
            .record({ user: fc.record({ id: fc.string(), name: fc.string(), color: fc.string() }), cursor: fc.jsonValue({ maxDepth: 2 }) })
            .map((v) => JSON.stringify(v)),
          fc.string({ maxLength: 30 }), // not JSON, mostly
          fc.constant('null'),
          fc.integer({ min: 3000, max: 70_000 }).map((n) => JSON.stringify({ pad: 'x'.repeat(n) })),
        ),
      }),
      { maxLength: 8 },
    ),
  }),
  fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 200 }) }),
);
export type AwarenessPlan = typeof awarenessPlan extends fc.Arbitrary<infer T> ? T : never;

/** The awareness update (the body of an awareness message) a plan stands for. */
export function awarenessUpdateOf(plan: AwarenessPlan, victim: number): Uint8Array {
  if (plan.kind === 'bytes') return plan.bytes;
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, plan.entries.length);
  for (const entry of plan.entries) {
    encoding.writeVarUint(e, entry.client === 'victim' ? victim : entry.client);
    encoding.writeVarUint(e, entry.clock);
    encoding.writeVarString(e, entry.state);
  }
  return encoding.toUint8Array(e);
}
