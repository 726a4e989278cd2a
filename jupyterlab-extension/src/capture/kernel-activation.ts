// Switching on the kernel side of capture (docs/ingest-api.md, "Activating the
// kernel side"): one silent, history-less execute request on the notebook's
// kernel, so it is neither in IPython's history nor in the notebook, and the
// recorder skips it. The token travels only in that request.
//
// A silent execution publishes no execute_result, so the value of activate()
// is read back through user_expressions (evaluated after the code, also for
// silent requests); an execute_result, should a kernel send one, counts too.

/**
 * The run the kernel holds, as activate() answers: every frontend of the kernel records into
 * it. runId is null until some frontend (or the kernel itself, after a restart) created it.
 */
export interface IKernelRun {
  clientKey: string;
  runId: string | null;
  /** The run this one continues (a restart, a new run asked for). */
  previousRunId: string | null;
  /** When the kernel took the run on, so whoever creates it records the same start. */
  startedAt: string | null;
}

/** How kernel-side capture stands for the current run. */
export type KernelCaptureState =
  | { kind: 'pending' }
  /** run: the run the kernel holds; absent from a kernel side that does not hold runs */
  | { kind: 'on'; version: string | null; implementation: string | null; run?: IKernelRun }
  | { kind: 'unavailable'; reason: string }
  | { kind: 'not-python'; language: string };

export interface IActivationParams {
  serverUrl: string;
  token: string;
  /** null: capture now, bind to a run later (the run opens at the first execution) */
  runId: string | null;
  notebookPath: string;
  captureConfig?: boolean;
  /**
   * With clientKey, the kernel owns the run: the key this page proposes for a new run; the
   * kernel answers with the run it holds for `project` (the first binding wins), taking the
   * proposal when it holds none or when `replaces` names the run it holds (a new run).
   */
  clientKey?: string;
  project?: string;
  replaces?: string | null;
  kernelName?: string | null;
}

/** The user expression that reads activate()'s answer back. */
export const RESULT_EXPRESSION = 'cellmark';
const RESULT_VARIABLE = '__cellmark_activation';

/** A Python string literal: JSON string syntax is valid Python for any text. */
function pyString(value: string): string {
  return JSON.stringify(value);
}

export function activationCode(params: IActivationParams): string {
  const args = [
    `server_url=${pyString(params.serverUrl)}`,
    `token=${pyString(params.token)}`,
    `run_id=${params.runId === null ? 'None' : pyString(params.runId)}`,
    `notebook_path=${pyString(params.notebookPath)}`,
    `capture_config=${params.captureConfig === false ? 'False' : 'True'}`,
  ];
  if (params.clientKey !== undefined) {
    args.push(
      `project=${pyString(params.project ?? '')}`,
      `client_key=${pyString(params.clientKey)}`,
      `replaces=${params.replaces ? pyString(params.replaces) : 'None'}`,
      `kernel_name=${params.kernelName ? pyString(params.kernelName) : 'None'}`,
    );
  }
  return `import cellmark.kernel as __cellmark; ${RESULT_VARIABLE} = __cellmark.activate(${args.join(', ')})`;
}

/** The execute_request content; never stored in history, never shown. */
export function activationRequest(params: IActivationParams) {
  return {
    code: activationCode(params),
    silent: true,
    store_history: false,
    user_expressions: { [RESULT_EXPRESSION]: RESULT_VARIABLE },
    allow_stdin: false,
    stop_on_error: false,
  };
}

/**
 * Stops the kernel side sending for this notebook (capture paused or switched
 * off). The contract has no deactivate yet, so this only calls it where the
 * installed cellmark offers one, and never fails.
 */
export const DEACTIVATION_CODE =
  'import sys as __cm_sys\n' +
  '__cm_kernel = __cm_sys.modules.get("cellmark.kernel")\n' +
  'if __cm_kernel is not None and hasattr(__cm_kernel, "deactivate"):\n' +
  '    __cm_kernel.deactivate()\n' +
  'del __cm_sys, __cm_kernel';

export const NOT_INSTALLED_REASON = "cellmark is not installed in this kernel's environment — pip install jupyterlab-cellmark there";

/** What the kernel answered: the execute_reply content and any execute_result data. */
export interface IActivationAnswer {
  reply: Record<string, unknown> | null;
  results: Array<Record<string, unknown>>;
}

export function parseActivationAnswer(answer: IActivationAnswer): KernelCaptureState {
  const reply = answer.reply;
  if (!reply) {
    return { kind: 'unavailable', reason: 'the kernel did not answer the activation request' };
  }
  if (reply.status === 'error') {
    return { kind: 'unavailable', reason: reasonForError(String(reply.ename ?? ''), String(reply.evalue ?? '')) };
  }
  if (reply.status === 'aborted') {
    return { kind: 'unavailable', reason: 'the kernel aborted the activation request (an earlier cell failed); it is retried with the next run' };
  }
  const texts: string[] = [];
  const expression = asRecord(asRecord(reply.user_expressions)[RESULT_EXPRESSION]);
  if (expression.status === 'error') {
    return {
      kind: 'unavailable',
      reason: reasonForError(String(expression.ename ?? ''), String(expression.evalue ?? '')),
    };
  }
  const plain = asRecord(expression.data)['text/plain'];
  if (typeof plain === 'string') {
    texts.push(plain);
  }
  for (const data of answer.results) {
    if (typeof data['text/plain'] === 'string') {
      texts.push(data['text/plain']);
    }
  }
  for (const text of texts) {
    const parsed = parseResultText(text);
    if (parsed) {
      if (parsed.ok === true) {
        const run = parseKernelRun(parsed.run);
        return {
          kind: 'on',
          version: typeof parsed.version === 'string' ? parsed.version : null,
          implementation: typeof parsed.implementation === 'string' ? parsed.implementation : null,
          ...(run ? { run } : {}),
        };
      }
      const why = typeof parsed.error === 'string' ? parsed.error : typeof parsed.reason === 'string' ? parsed.reason : 'no reason given';
      return { kind: 'unavailable', reason: `cellmark in the kernel refused: ${why}` };
    }
  }
  // activate() ran without raising but said nothing we understand.
  return { kind: 'on', version: null, implementation: null };
}

function parseKernelRun(value: unknown): IKernelRun | null {
  const run = asRecord(value);
  if (typeof run.clientKey !== 'string' || run.clientKey === '') {
    return null;
  }
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  return { clientKey: run.clientKey, runId: text(run.runId), previousRunId: text(run.previousRunId), startedAt: text(run.startedAt) };
}

/** A human reason for an activation that raised. */
export function reasonForError(ename: string, evalue: string): string {
  if ((ename === 'ModuleNotFoundError' || ename === 'ImportError') && /cellmark/.test(evalue)) {
    return NOT_INSTALLED_REASON;
  }
  if ((ename === 'AttributeError' && /activate/.test(evalue)) || (ename === 'TypeError' && /unexpected keyword argument/.test(evalue))) {
    return "the cellmark in this kernel's environment is too old — pip install -U jupyterlab-cellmark there";
  }
  return `activation failed: ${ename}${evalue ? `: ${evalue}` : ''}`;
}

/**
 * The JSON object in a text/plain value: plain JSON (an object whose repr is
 * JSON) or the repr of a Python str holding JSON ('{"ok": true}').
 */
export function parseResultText(text: string): Record<string, unknown> | null {
  const trimmed = text.trim();
  const direct = tryJsonObject(trimmed);
  if (direct) {
    return direct;
  }
  const unquoted = unquotePythonString(trimmed);
  return unquoted === null ? null : tryJsonObject(unquoted);
}

function tryJsonObject(text: string): Record<string, unknown> | null {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const SIMPLE_ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', "'": "'", '"': '"', '0': '\0' };

/** The value of a Python str literal as repr() writes it; null if it is not one. */
export function unquotePythonString(text: string): string | null {
  const quote = text[0];
  if ((quote !== "'" && quote !== '"') || text.length < 2 || text[text.length - 1] !== quote) {
    return null;
  }
  const body = text.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = body[i + 1] ?? '';
    if (next in SIMPLE_ESCAPES) {
      out += SIMPLE_ESCAPES[next];
      i += 1;
      continue;
    }
    const width = next === 'x' ? 2 : next === 'u' ? 4 : next === 'U' ? 8 : 0;
    const hex = body.slice(i + 2, i + 2 + width);
    if (width === 0 || !/^[0-9a-fA-F]+$/.test(hex) || hex.length !== width) {
      return null;
    }
    out += String.fromCodePoint(parseInt(hex, 16));
    i += 1 + width;
  }
  return out;
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** The parts of a kernel connection activation uses (IKernelConnection fits). */
export interface IActivationKernel {
  readonly info: Promise<{ language_info?: { name?: string } }>;
  requestExecute(
    content: ReturnType<typeof activationRequest> | { code: string; silent: boolean; store_history: boolean },
    disposeOnDone?: boolean,
  ): {
    onIOPub: (msg: { header: { msg_type: string }; content: unknown }) => void;
    readonly done: Promise<{ content: unknown }>;
  };
}

/** Whether the kernel speaks Python; the kernel side exists only there. */
export async function kernelLanguage(kernel: IActivationKernel): Promise<string> {
  const info = await kernel.info;
  return String(info.language_info?.name ?? '').toLowerCase();
}

/** Run the activation and say how kernel-side capture stands. Never throws. */
export async function activateKernelSide(kernel: IActivationKernel, params: IActivationParams): Promise<KernelCaptureState> {
  try {
    const language = await kernelLanguage(kernel);
    if (language !== 'python') {
      return { kind: 'not-python', language: language || 'unknown' };
    }
    const results: Array<Record<string, unknown>> = [];
    const future = kernel.requestExecute(activationRequest(params), true);
    future.onIOPub = (msg) => {
      if (msg.header.msg_type === 'execute_result') {
        results.push(asRecord(asRecord(msg.content).data));
      }
    };
    const reply = await future.done;
    return parseActivationAnswer({ reply: asRecord(reply.content), results });
  } catch (reason) {
    const message = reason instanceof Error ? reason.message : String(reason);
    return { kind: 'unavailable', reason: `the activation request failed: ${message}` };
  }
}

/** Best effort: stop the kernel side of an earlier activation. */
export function deactivateKernelSide(kernel: IActivationKernel): void {
  try {
    const future = kernel.requestExecute({ code: DEACTIVATION_CODE, silent: true, store_history: false }, true);
    void future.done.catch(() => undefined);
  } catch {
    // The kernel is gone or going: nothing to stop.
  }
}

/** One line for the status tooltip. */
export function describeKernelCapture(state: KernelCaptureState | null): string {
  if (state === null) {
    return 'kernel capture: waiting for the run to be created';
  }
  if (state.kind === 'pending') {
    return 'kernel capture: switching on…';
  }
  switch (state.kind) {
    case 'on':
      return `kernel capture: on${state.version ? ` (cellmark ${state.version}${state.implementation ? `, ${state.implementation}` : ''})` : ''}`;
    case 'not-python':
      return `kernel capture: unavailable: the ${state.language} kernel is not Python — only cells and outputs are recorded (frontend capture)`;
    default:
      return `kernel capture: unavailable: ${state.reason}`;
  }
}
