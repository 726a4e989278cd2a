import { describe, expect, it } from 'vitest';
import { ExecutionRecorder } from './execution-recorder';
import {
  activateKernelSide,
  activationCode,
  activationRequest,
  describeKernelCapture,
  type IActivationKernel,
  NOT_INSTALLED_REASON,
  parseActivationAnswer,
  parseResultText,
  unquotePythonString,
} from './kernel-activation';

const PARAMS = {
  serverUrl: 'http://localhost:3000',
  token: 'cm_secret"token',
  runId: '00000000-0000-4000-8000-000000000001',
  notebookPath: 'dir/train "v2".ipynb',
};

describe('activation request', () => {
  it('is silent and history-less, so the recorder (and IPython history) skip it', () => {
    const content = activationRequest(PARAMS);
    expect(content).toMatchObject({ silent: true, store_history: false, allow_stdin: false });
    const msg = { header: { msg_id: 'm', msg_type: 'execute_request' }, parent_header: {}, content };
    expect(ExecutionRecorder.isRecordable(msg)).toBe(false);
  });

  it('calls activate with every argument as a Python string literal', () => {
    expect(activationCode(PARAMS)).toBe(
      'import cellmark.kernel as __cellmark; __cellmark_activation = __cellmark.activate(' +
        'server_url="http://localhost:3000", token="cm_secret\\"token", run_id="00000000-0000-4000-8000-000000000001", ' +
        'notebook_path="dir/train \\"v2\\".ipynb", capture_config=True)',
    );
    expect(activationRequest(PARAMS).user_expressions).toEqual({ cellmark: '__cellmark_activation' });
  });

  it('asks the kernel for the run it holds when proposing a client key', () => {
    const code = activationCode({ ...PARAMS, runId: null, project: 'team/proj', clientKey: 'key-1', replaces: null, kernelName: 'python3' });
    expect(code).toContain('run_id=None, notebook_path="dir/train \\"v2\\".ipynb", capture_config=True, ');
    expect(code).toMatch(/project="team\/proj", client_key="key-1", replaces=None, kernel_name="python3"\)$/);
  });
});

describe('parseActivationAnswer', () => {
  const ok = (text: string) => ({
    reply: { status: 'ok', user_expressions: { cellmark: { status: 'ok', data: { 'text/plain': text }, metadata: {} } } },
    results: [],
  });

  it('reads the JSON answer from the repr of a str (what ipykernel sends)', () => {
    expect(parseActivationAnswer(ok(`'{"ok": true, "version": "0.1.0", "implementation": "cpython 3.11.7"}'`))).toEqual({
      kind: 'on',
      version: '0.1.0',
      implementation: 'cpython 3.11.7',
    });
  });

  it('reads the run the kernel holds, and says an older kernel side (no client keys) is too old', () => {
    const answer = `'{"ok": true, "version": "0.1.0", "run": {"clientKey": "key-1", "runId": null, "previousRunId": "r0", "startedAt": "2025-03-04T12:00:00Z"}}'`;
    expect(parseActivationAnswer(ok(answer))).toMatchObject({
      kind: 'on',
      run: { clientKey: 'key-1', runId: null, previousRunId: 'r0', startedAt: '2025-03-04T12:00:00Z' },
    });
    expect(parseActivationAnswer(ok('{"ok": true, "run": {"runId": "x"}}'))).not.toHaveProperty('run');
    const old = { reply: { status: 'error', ename: 'TypeError', evalue: "activate() got an unexpected keyword argument 'project'" }, results: [] };
    expect(parseActivationAnswer(old)).toMatchObject({ kind: 'unavailable', reason: expect.stringMatching(/too old/) });
  });

  it('reads plain JSON, and an execute_result from a kernel that sends one', () => {
    expect(parseActivationAnswer(ok('{"ok": true, "version": "0.2.0"}'))).toMatchObject({ kind: 'on', version: '0.2.0' });
    expect(
      parseActivationAnswer({ reply: { status: 'ok', user_expressions: {} }, results: [{ 'text/plain': '{"ok": true, "version": "0.3.0"}' }] }),
    ).toMatchObject({ kind: 'on', version: '0.3.0' });
  });

  it('says cellmark is missing from the kernel environment, and how to fix it', () => {
    const state = parseActivationAnswer({
      reply: { status: 'error', ename: 'ModuleNotFoundError', evalue: "No module named 'cellmark'", traceback: [], user_expressions: {} },
      results: [],
    });
    expect(state).toEqual({ kind: 'unavailable', reason: NOT_INSTALLED_REASON });
    expect(describeKernelCapture(state)).toBe(
      "kernel capture: unavailable: cellmark is not installed in this kernel's environment — pip install jupyterlab-cellmark there",
    );
  });

  it('reports other failures with the exception, and a refusal with its reason', () => {
    expect(parseActivationAnswer({ reply: { status: 'error', ename: 'ValueError', evalue: 'bad run_id' }, results: [] })).toEqual({
      kind: 'unavailable',
      reason: 'activation failed: ValueError: bad run_id',
    });
    expect(
      parseActivationAnswer({
        reply: { status: 'error', ename: 'AttributeError', evalue: "module 'cellmark.kernel' has no attribute 'activate'" },
        results: [],
      }),
    ).toMatchObject({
      reason: expect.stringMatching(/too old/),
    });
    expect(parseActivationAnswer(ok(`'{"ok": false, "error": "server rejected the token"}'`))).toEqual({
      kind: 'unavailable',
      reason: 'cellmark in the kernel refused: server rejected the token',
    });
    expect(parseActivationAnswer({ reply: { status: 'aborted' }, results: [] })).toMatchObject({ kind: 'unavailable' });
    expect(parseActivationAnswer({ reply: null, results: [] })).toMatchObject({ kind: 'unavailable' });
  });

  it('counts an activate() that returned nothing readable as on, version unknown', () => {
    expect(parseActivationAnswer(ok('None'))).toEqual({ kind: 'on', version: null, implementation: null });
  });
});

describe('parseResultText / unquotePythonString', () => {
  it('undoes repr() escapes', () => {
    expect(unquotePythonString(`'it\\'s \\\\ "q" \\n \\x41 \\u00e9'`)).toBe('it\'s \\ "q" \n A é');
    expect(unquotePythonString('"double"')).toBe('double');
    expect(unquotePythonString('no quotes')).toBeNull();
  });

  it('finds a JSON object or gives up', () => {
    expect(parseResultText(` '{"ok": true}' `)).toEqual({ ok: true });
    expect(parseResultText("{'ok': True}")).toBeNull(); // a dict repr is not JSON
  });
});

describe('activateKernelSide', () => {
  function kernel(language: string, reply: Record<string, unknown>): IActivationKernel & { sent: unknown[] } {
    const sent: unknown[] = [];
    return {
      sent,
      info: Promise.resolve({ language_info: { name: language } }),
      requestExecute(content) {
        sent.push(content);
        return { onIOPub: () => undefined, done: Promise.resolve({ content: reply }) };
      },
    };
  }

  it('asks only Python kernels', async () => {
    const julia = kernel('julia', { status: 'ok' });
    expect(await activateKernelSide(julia, PARAMS)).toEqual({ kind: 'not-python', language: 'julia' });
    expect(julia.sent).toEqual([]);
    expect(describeKernelCapture({ kind: 'not-python', language: 'julia' })).toMatch(/not Python — only cells and outputs are recorded \(frontend capture\)/);
  });

  it('sends the request to a Python kernel and parses the reply', async () => {
    const python = kernel('python', { status: 'error', ename: 'ModuleNotFoundError', evalue: "No module named 'cellmark'" });
    expect(await activateKernelSide(python, PARAMS)).toEqual({ kind: 'unavailable', reason: NOT_INSTALLED_REASON });
    expect(python.sent).toEqual([activationRequest(PARAMS)]);
  });

  it('never throws, even when the kernel goes away mid-request', async () => {
    const gone: IActivationKernel = {
      info: Promise.resolve({ language_info: { name: 'python' } }),
      requestExecute: () => ({
        onIOPub: () => undefined,
        done: Promise.reject(new Error('Canceled future for execute_request message before replies were done')),
      }),
    };
    expect(await activateKernelSide(gone, PARAMS)).toMatchObject({ kind: 'unavailable', reason: expect.stringMatching(/Canceled future/) });
  });
});
