// Jupyter messaging protocol (v5.3) messages as JupyterLab's KernelConnection
// emits them on anyMessage, for feeding the recorder in tests.
import type { IKernelMessageLike } from '../capture/execution-recorder';

let counter = 0;
const SESSION = 'f1c3a5e0-7b4e-4c8e-9a52-3d0e6a9b1c2d';

function header(msgType: string, date: string, msgId?: string) {
  counter += 1;
  return {
    msg_id: msgId ?? `${SESSION.slice(0, 8)}-0000-4000-8000-${String(counter).padStart(12, '0')}`,
    msg_type: msgType,
    username: 'username',
    session: SESSION,
    date,
    version: '5.3',
  };
}

/** What CodeCell.execute sends: metadata carries the nbformat cell id. */
export function executeRequest(
  code: string,
  options: { msgId?: string; cellId?: string; silent?: boolean; storeHistory?: boolean; date?: string } = {},
): IKernelMessageLike {
  return {
    channel: 'shell',
    header: header('execute_request', options.date ?? '2025-03-04T10:00:00.000Z', options.msgId),
    parent_header: {},
    metadata: {
      deletedCells: [],
      recordTiming: false,
      trusted: true,
      ...(options.cellId ? { cellId: options.cellId } : {}),
    },
    content: {
      code,
      silent: options.silent ?? false,
      store_history: options.storeHistory ?? true,
      user_expressions: {},
      allow_stdin: true,
      stop_on_error: true,
    },
  };
}

/** A message from the kernel in reply to `parent`. */
export function reply(
  parent: IKernelMessageLike,
  channel: 'iopub' | 'shell',
  msgType: string,
  content: Record<string, unknown>,
  date = '2025-03-04T10:00:01.000000Z',
): IKernelMessageLike {
  return {
    channel,
    header: header(msgType, date),
    parent_header: parent.header,
    metadata: msgType === 'execute_reply' ? { started: '2025-03-04T10:00:00.010000Z', dependencies_met: true, engine: 'e', status: content.status } : {},
    content,
  };
}

export const busy = (parent: IKernelMessageLike, date = '2025-03-04T10:00:00.012345Z') => reply(parent, 'iopub', 'status', { execution_state: 'busy' }, date);

export const idle = (parent: IKernelMessageLike, date = '2025-03-04T10:00:01.523456Z') => reply(parent, 'iopub', 'status', { execution_state: 'idle' }, date);

export const executeInput = (parent: IKernelMessageLike, code: string, count: number) =>
  reply(parent, 'iopub', 'execute_input', { code, execution_count: count });

export const stream = (parent: IKernelMessageLike, text: string, name: 'stdout' | 'stderr' = 'stdout') => reply(parent, 'iopub', 'stream', { name, text });

export const executeReplyOk = (parent: IKernelMessageLike, count: number) =>
  reply(parent, 'shell', 'execute_reply', {
    status: 'ok',
    execution_count: count,
    user_expressions: {},
    payload: [],
  });
