// Report editors (real y-websocket providers over /collab/<reportId> with a signed-in
// session's cookie) and chart readers (metrics.series and runs.list through a session).
// Editors type whole words at word boundaries, so every word stays contiguous in the merged
// document and "what was typed" can be checked word by word: each typed word must be in the
// converged text exactly once. Every socket close or error the editors see is recorded with
// its code and reason; the providers reconnect by themselves, as the browser's do, each time
// to the next server URL (round-robin).
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import type { Api, Auth, Recorder } from './api.ts';

export class Collab {
  private turn = 0;
  /** no close is recorded once the soak tears its clients down */
  closing = false;
  readonly providers: WebsocketProvider[] = [];

  constructor(
    readonly urls: string[],
    public cookie: string,
    readonly recorder: Recorder,
  ) {}

  /** A provider whose every (re)connection goes to the next server. */
  connect(reportId: string, doc = new Y.Doc()) {
    const collab = this;
    const Socket = class extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        const base = collab.urls[collab.turn++ % collab.urls.length]!.replace(/^http/, 'ws');
        const target = url.replace(/^ws:\/\/[^/]+/, base);
        super(target, protocols, { headers: { cookie: collab.cookie }, handshakeTimeout: 10_000 });
        let cause = '';
        this.on('error', (error: Error & { code?: string }) => (cause = error.code ?? error.message));
        this.on('unexpected-response', (_req, res) => {
          cause = `upgrade answered ${res.statusCode}`;
          collab.closing || collab.recorder.fail({ route: 'collab', server: base, status: res.statusCode ?? 0, message: cause });
        });
        this.on('close', (code: number, reason: Buffer) => {
          if (collab.closing || cause.startsWith('upgrade')) return;
          collab.recorder.fail({ route: 'collab', server: base, status: `close ${code}`, message: reason.toString() || cause || '(no reason)' });
        });
      }
    };
    const provider = new WebsocketProvider(`ws://placeholder/collab`, reportId, doc, {
      WebSocketPolyfill: Socket as never,
      disableBc: true,
      maxBackoffTime: 2500,
    });
    this.providers.push(provider);
    return provider;
  }

  destroy() {
    this.closing = true;
    for (const p of this.providers) p.destroy();
  }
}

export class Editor {
  readonly doc = new Y.Doc();
  readonly provider: WebsocketProvider;
  readonly typed: string[] = [];

  constructor(
    collab: Collab,
    readonly reportId: string,
    readonly index: number,
  ) {
    this.provider = collab.connect(reportId, this.doc);
  }

  /** Types a word every `everyMs` (on average) until `until`; offline it keeps typing locally. */
  async run(until: number, everyMs: number) {
    await new Promise((r) => setTimeout(r, Math.random() * everyMs));
    while (performance.now() < until) {
      const text = this.doc.getText('content');
      const s = text.toString();
      const boundaries = [0];
      for (let i = s.indexOf(' '); i !== -1; i = s.indexOf(' ', i + 1)) boundaries.push(i + 1);
      const word = `e${this.index}w${this.typed.length}`;
      text.insert(boundaries[Math.floor(Math.random() * boundaries.length)]!, `${word} `);
      this.typed.push(word);
      await new Promise((r) => setTimeout(r, everyMs * (0.5 + Math.random())));
    }
  }
}

/** What a report's text says about the words typed into it. */
export function checkWords(text: string, typed: string[]) {
  const counts = new Map<string, number>();
  for (const w of text.split(' ')) if (w) counts.set(w, (counts.get(w) ?? 0) + 1);
  const missing = typed.filter((w) => !counts.has(w));
  const duplicated = typed.filter((w) => (counts.get(w) ?? 0) > 1);
  const typedSet = new Set(typed);
  const unknown = [...counts.keys()].filter((w) => !typedSet.has(w));
  return { missing, duplicated, unknown };
}

/** A chart reader: a runs.list page and a chart of a few runs, alternately, every `everyMs`. */
export async function readCharts(api: Api, auth: Auth, projectId: string, runIds: () => string[], until: number, everyMs: number) {
  await new Promise((r) => setTimeout(r, Math.random() * everyMs));
  for (let i = 0; performance.now() < until; i++) {
    try {
      if (i % 2) {
        const ids = runIds();
        const some = Array.from({ length: Math.min(5, ids.length) }, () => ids[Math.floor(Math.random() * ids.length)]!);
        if (some.length) await api.once('metrics.series', { projectId, runIds: [...new Set(some)], key: 'train/loss', width: 1000 }, auth, 'GET');
      } else {
        await api.once('runs.list', { projectId, limit: 50, sort: { by: 'startedAt', dir: 'desc' } }, auth, 'GET');
      }
    } catch {
      // recorded by the Api; a chart simply reads again next time
    }
    await new Promise((r) => setTimeout(r, everyMs * (0.5 + Math.random())));
  }
}
