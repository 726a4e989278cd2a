// The limits the clients check before they send (the extension's run commands, the kernel
// side's cellmark.run and activate) are the server's own: each client limit is parsed by the
// server's ingest schema at the limit (accepted) and one past it (refused), so a limit
// changed on either side alone fails here. The extension's constants cannot be imported
// from the wire at runtime (that would bundle zod into the labextension), and the Python
// package is standard library only, hence this test rather than one shared constant.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { MAX_KEY_CHARS, MAX_SUMMARY_TEXT, startRunInput, updateRunInput } from '@cellmark/server/wire';
import { describe, expect, it } from 'vitest';
import * as extension from '../../jupyterlab-extension/src/run-input.ts';

const RUN = '00000000-0000-4000-8000-000000000001';
const EXTENSION_DIR = path.resolve(import.meta.dirname, '../../jupyterlab-extension');

/** The kernel side's limits, read from the package itself (it imports the standard library only). */
function pythonLimits(): Record<string, number> {
  const code = [
    'import json',
    'from cellmark.kernel import api, config_capture, metrics, run_binding',
    'print(json.dumps({"tags": api.MAX_TAGS, "tagChars": api.MAX_TAG_CHARS, "nameChars": api.MAX_NAME_CHARS,',
    '  "notes": api.MAX_NOTES_BYTES, "keyChars": run_binding.MAX_KEY_CHARS,',
    '  "metricKeyChars": metrics.MAX_KEY_CHARS, "summaryText": metrics.MAX_SUMMARY_TEXT, "configKeyChars": config_capture.MAX_KEY_CHARS}))',
  ].join('\n');
  const out = execFileSync(process.env.PYTHON ?? 'python3', ['-c', code], { cwd: EXTENSION_DIR, env: { ...process.env, PYTHONPATH: EXTENSION_DIR } });
  return JSON.parse(out.toString());
}

/** Whether updateRun takes `n` tags of `chars` characters each, a name of `name` characters and notes of `notes`. */
function updateAccepts({ n = 1, chars = 1, name = 1, notes = 0 }: { n?: number; chars?: number; name?: number; notes?: number }) {
  const tags = Array.from({ length: n }, (_, i) => String(i).padStart(chars, 't'));
  return updateRunInput.safeParse({ runId: RUN, tags, name: 'n'.repeat(name), notes: 'x'.repeat(notes) }).success;
}

function startAccepts(clientKeyChars: number) {
  return startRunInput.safeParse({
    project: 'team/proj',
    clientKey: 'k'.repeat(clientKeyChars),
    notebookPath: 'a.ipynb',
    startedAt: '2025-03-04T10:00:00.000Z',
  }).success;
}

function expectLimit(accepts: (value: number) => boolean, limit: number) {
  expect([accepts(limit), accepts(limit + 1)]).toEqual([true, false]);
}

describe('client limits are the server schema limits', () => {
  it('the extension: tags per run, tag length, run name length', () => {
    expectLimit((n) => updateAccepts({ n }), extension.MAX_TAGS);
    expectLimit((chars) => updateAccepts({ chars }), extension.MAX_TAG_CHARS);
    expectLimit((name) => updateAccepts({ name }), extension.MAX_NAME_CHARS);
  });

  it('the kernel side: tags, tag and name length, notes, client keys', () => {
    const py = pythonLimits();
    expectLimit((n) => updateAccepts({ n }), py.tags!);
    expectLimit((chars) => updateAccepts({ chars }), py.tagChars!);
    expectLimit((name) => updateAccepts({ name }), py.nameChars!);
    // the kernel counts UTF-8 bytes, the server characters: the same number, stricter for non-ASCII
    expectLimit((notes) => updateAccepts({ notes }), py.notes!);
    expectLimit(startAccepts, py.keyChars!);
  });

  it('the kernel side: metric, summary and config key length, summary text (checked by the ingest domain, not a schema)', () => {
    const py = pythonLimits();
    expect({ metricKeyChars: py.metricKeyChars, configKeyChars: py.configKeyChars, summaryText: py.summaryText }).toEqual({
      metricKeyChars: MAX_KEY_CHARS,
      configKeyChars: MAX_KEY_CHARS,
      summaryText: MAX_SUMMARY_TEXT,
    });
  });
});
