// Another client of a Jupyter kernel, with no JupyterLab page: the Jupyter server's REST API
// (list, restart, shut down kernels) and its kernel websocket (execute requests), as any
// notebook client (nbclient, VS Code, a script) uses them.
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';

export interface JupyterKernel {
  id: string;
  name: string;
  execution_state: string;
}

export class JupyterApi {
  constructor(readonly url: string) {}

  async kernels(): Promise<JupyterKernel[]> {
    return this.json('GET', '/api/kernels');
  }

  /** The kernel of the notebook at `path` (its session). */
  async kernelOf(path: string): Promise<JupyterKernel> {
    const sessions = await this.json<Array<{ path: string; kernel: JupyterKernel }>>('GET', '/api/sessions');
    const session = sessions.find((s) => s.path === path);
    if (!session) throw new Error(`no session for ${path}: ${JSON.stringify(sessions.map((s) => s.path))}`);
    return session.kernel;
  }

  restart(kernelId: string): Promise<JupyterKernel> {
    return this.json('POST', `/api/kernels/${kernelId}/restart`);
  }

  /** What "Shut Down Kernel" in JupyterLab asks for. */
  async shutdown(kernelId: string): Promise<void> {
    const res = await fetch(`${this.url}/api/kernels/${kernelId}`, { method: 'DELETE' });
    if (res.status !== 204) throw new Error(`shutting down ${kernelId}: ${res.status} ${await res.text()}`);
  }

  private async json<T>(method: string, path: string): Promise<T> {
    const res = await fetch(`${this.url}${path}`, { method });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }
}

interface Message {
  header: { msg_id: string; msg_type: string };
  parent_header: { msg_id?: string };
  content: Record<string, unknown>;
  channel: string;
}

/** Executes code on a kernel over the Jupyter server's websocket (JSON messages, protocol 5.3). */
export class KernelClient {
  private readonly session = randomUUID();
  private readonly waiting = new Map<string, (reply: Message) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const msg = JSON.parse(String(data)) as Message;
      const parent = msg.parent_header?.msg_id;
      if (msg.channel === 'shell' && msg.header.msg_type === 'execute_reply' && parent) this.waiting.get(parent)?.(msg);
    });
  }

  static async connect(labUrl: string, kernelId: string): Promise<KernelClient> {
    const socket = new WebSocket(`${labUrl.replace(/^http/, 'ws')}/api/kernels/${kernelId}/channels?session_id=${randomUUID()}`);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new KernelClient(socket);
  }

  /** Runs `code`; resolves with the execute_reply's content (and the request's msg_id). */
  execute(code: string, options: { silent?: boolean; userExpressions?: Record<string, string> } = {}, timeoutMs = 60_000) {
    const msgId = randomUUID();
    const reply = new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no execute_reply for ${code} in ${timeoutMs} ms`)), timeoutMs);
      this.waiting.set(msgId, (msg) => {
        clearTimeout(timer);
        this.waiting.delete(msgId);
        resolve(msg.content);
      });
    });
    this.socket.send(
      JSON.stringify({
        header: { msg_id: msgId, msg_type: 'execute_request', username: 'e2e', session: this.session, date: new Date().toISOString(), version: '5.3' },
        parent_header: {},
        metadata: {},
        content: {
          code,
          silent: options.silent ?? false,
          store_history: !options.silent,
          user_expressions: options.userExpressions ?? {},
          allow_stdin: false,
          stop_on_error: false,
        },
        channel: 'shell',
        buffers: [],
      }),
    );
    return reply.then((content) => ({ msgId, content }));
  }

  close() {
    this.socket.close();
  }
}
