import { describe, expect, it } from 'vitest';
import { CellmarkApi } from './api';
import { CellmarkError, type FetchLike, healthCheck, procedureUrl, trpcRequest } from './request';

const config = { serverUrl: 'http://cellmark.test:3000/', apiToken: 'cm_secret' };

function respond(status: number, body: unknown): FetchLike {
  return async () =>
    new Response(typeof body === 'string' ? body : JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json' },
    });
}

function trpcError(status: number, code: string, message: string) {
  return { error: { message, code: -32600, data: { code, httpStatus: status, path: 'ingest.cells' } } };
}

async function failure(fetch: FetchLike): Promise<CellmarkError> {
  try {
    await trpcRequest(config, 'ingest.cells', { method: 'POST', input: {}, fetch });
  } catch (error) {
    if (error instanceof CellmarkError) {
      return error;
    }
    throw error;
  }
  throw new Error('expected a failure');
}

describe('trpcRequest', () => {
  it('posts JSON with the bearer token and returns result.data', async () => {
    const calls: Array<{ url: string; init: RequestInit }> = [];
    const fetch: FetchLike = async (url, init) => {
      calls.push({ url, init });
      return new Response(JSON.stringify({ result: { data: { accepted: 2 } } }), { status: 200 });
    };
    const data = await trpcRequest(config, 'ingest.cells', { method: 'POST', input: { runId: 'r' }, fetch });
    expect(data).toEqual({ accepted: 2 });
    expect(calls[0]?.url).toBe('http://cellmark.test:3000/api/trpc/ingest.cells');
    expect(calls[0]?.init.method).toBe('POST');
    expect(calls[0]?.init.body).toBe('{"runId":"r"}');
    expect(calls[0]?.init.credentials).toBe('omit');
    expect(calls[0]?.init.headers).toEqual({
      Authorization: 'Bearer cm_secret',
      'content-type': 'application/json',
    });
  });

  it('sends GET input as ?input=<json>', async () => {
    let seen = '';
    await trpcRequest(config, 'ingest.whoami', {
      method: 'GET',
      input: { a: 1 },
      fetch: async (url) => {
        seen = url;
        return new Response('{"result":{"data":null}}');
      },
    });
    expect(seen).toBe('http://cellmark.test:3000/api/trpc/ingest.whoami?input=%7B%22a%22%3A1%7D');
  });

  it('names the server when it cannot be reached, and allows retry', async () => {
    const error = await failure(async () => {
      throw new TypeError('Failed to fetch');
    });
    expect(error.message).toBe('Cellmark server unreachable at http://cellmark.test:3000');
    expect(error.kind).toBe('unreachable');
    expect(error.retryable).toBe(true);
  });

  it('treats a request that never answers as unreachable', async () => {
    const error = await trpcRequest(config, 'ingest.whoami', {
      method: 'GET',
      timeoutMs: 20,
      fetch: (_url, init) =>
        new Promise((_resolve, reject) => {
          init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
        }),
    }).catch((e: unknown) => e);
    expect((error as CellmarkError).message).toBe('Cellmark server unreachable at http://cellmark.test:3000 (no answer within 0 s)');
  });

  it('maps 401 to "token rejected" with the server message', async () => {
    const error = await failure(respond(401, trpcError(401, 'UNAUTHORIZED', 'API token revoked')));
    expect(error.message).toBe('token rejected (401): API token revoked');
    expect(error.kind).toBe('unauthorized');
    expect(error.short).toBe('token rejected');
    expect(error.retryable).toBe(false);
  });

  it('maps 403 to forbidden', async () => {
    const error = await failure(respond(403, trpcError(403, 'FORBIDDEN', 'no access to project acme/vision')));
    expect(error.message).toBe('forbidden (403): no access to project acme/vision');
    expect(error.retryable).toBe(false);
  });

  it('maps 400 to invalid data and lists validation issues by field', async () => {
    const issues = JSON.stringify(
      [
        { code: 'invalid_type', path: ['cells', 0, 'startedAt'], message: 'Invalid ISO datetime' },
        { code: 'too_small', path: ['clientKey'], message: 'Too small' },
      ],
      null,
      2,
    );
    const error = await failure(respond(400, trpcError(400, 'BAD_REQUEST', issues)));
    expect(error.message).toBe('invalid data (400): cells.0.startedAt: Invalid ISO datetime; clientKey: Too small');
    expect(error.retryable).toBe(false);
  });

  it('maps 413 to too large', async () => {
    const error = await failure(respond(413, trpcError(413, 'PAYLOAD_TOO_LARGE', 'request body is 40000000 bytes')));
    expect(error.kind).toBe('too-large');
    expect(error.message).toBe('too large (413): request body is 40000000 bytes');
  });

  it('retries server errors, 408 and 429', async () => {
    for (const status of [500, 502, 503, 408, 429]) {
      const error = await failure(respond(status, 'upstream down'));
      expect(error.retryable, String(status)).toBe(true);
      expect(error.message).toContain(`(${status}): upstream down`);
    }
  });

  it('reports a 200 that is not a tRPC response (wrong serverUrl)', async () => {
    const error = await failure(respond(200, '<!doctype html><title>JupyterLab</title>'));
    expect(error.kind).toBe('bad-response');
    expect(error.message).toContain('is serverUrl a Cellmark server?');
    expect(error.retryable).toBe(false);
  });

  it('refuses to send without server URL or token', async () => {
    await expect(trpcRequest({ serverUrl: 'http://x', apiToken: ' ' }, 'ingest.whoami', { method: 'GET' })).rejects.toMatchObject({ kind: 'not-configured' });
  });
});

describe('procedureUrl', () => {
  it('joins without double slashes', () => {
    expect(procedureUrl('https://cm.example.com//', 'ingest.startRun')).toBe('https://cm.example.com/api/trpc/ingest.startRun');
  });
});

describe('CellmarkApi', () => {
  it('validates the startRun answer', async () => {
    const api = new CellmarkApi(() => config, respond(200, { result: { data: { runId: 'r1', name: 'brave-otter', url: '/t/a/b/runs/r1' } } }));
    await expect(
      api.startRun({ project: 'a/b', clientKey: 'k'.repeat(36), notebookPath: 'x.ipynb', kernelName: 'python3', startedAt: '2025-01-01T00:00:00.000Z' }),
    ).resolves.toEqual({ runId: 'r1', name: 'brave-otter', url: '/t/a/b/runs/r1' });

    const broken = new CellmarkApi(() => config, respond(200, { result: { data: {} } }));
    await expect(broken.whoami()).rejects.toMatchObject({ kind: 'bad-response' });
  });
});

describe('healthCheck', () => {
  it('asks GET /healthz without credentials or headers (no preflight cross-origin)', async () => {
    const calls: Array<{ url: string; init: RequestInit }> = [];
    const fetch: FetchLike = async (url, init) => {
      calls.push({ url, init });
      return new Response('{"status":"ok"}', { status: 200 });
    };
    expect(await healthCheck('http://cellmark.test:3000/', { fetch })).toBe(true);
    expect(calls[0]?.url).toBe('http://cellmark.test:3000/healthz');
    expect(calls[0]?.init).toMatchObject({ method: 'GET', credentials: 'omit' });
    expect(calls[0]?.init.headers).toBeUndefined();
  });

  it('is false for a 503, a network failure, no answer in time, or no server URL', async () => {
    expect(await healthCheck('http://x', { fetch: respond(503, { status: 'unavailable' }) })).toBe(false);
    expect(await healthCheck('http://x', { fetch: async () => Promise.reject(new TypeError('Failed to fetch')) })).toBe(false);
    const hanging: FetchLike = (_url, init) =>
      new Promise((_, reject) => init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
    expect(await healthCheck('http://x', { fetch: hanging, timeoutMs: 10 })).toBe(false);
    expect(await healthCheck('  ', { fetch: respond(200, {}) })).toBe(false);
  });
});
