import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { Agent, request } from 'undici';
import {
  BODY_RECORD_LIMIT,
  createSimulator,
  type RecordedRequest,
  type SimStats,
  type Simulator,
} from '@tools/provider-sim';

// Needs no broker, registry or database: the simulator runs in-process on a free port.

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

describe('provider simulator', () => {
  let sim: Simulator;
  let base: string;
  const agent = new Agent({ keepAliveTimeout: 10_000 });

  async function call(
    path: string,
    init: {
      method?: 'GET' | 'POST' | 'DELETE' | 'PUT';
      headers?: Record<string, string>;
      body?: string | Buffer;
      headersTimeout?: number;
      origin?: string;
    } = {},
  ): Promise<Answer> {
    const res = await request(`${init.origin ?? base}${path}`, {
      method: init.method ?? 'POST',
      headers: { 'content-type': 'application/json', ...init.headers },
      body: init.body ?? (init.method === 'GET' || init.method === 'DELETE' ? undefined : '{}'),
      dispatcher: agent,
      headersTimeout: init.headersTimeout,
    });
    const text = await res.body.text();
    return {
      status: res.statusCode,
      headers: res.headers,
      body: text === '' ? undefined : JSON.parse(text),
    };
  }

  async function recorded(query: string, origin = base): Promise<RecordedRequest[]> {
    const answer = await call(`/_sim/requests?${query}`, { method: 'GET', origin });
    expect(answer.status).toBe(200);
    return (answer.body as { requests: RecordedRequest[] }).requests;
  }

  const unique = (): string => randomUUID();

  beforeAll(async () => {
    sim = createSimulator({ latencyMs: 0 });
    ({ url: base } = await sim.listen(0, '127.0.0.1'));
  });

  afterAll(async () => {
    await sim.close();
    await agent.close();
  });

  it('answers live', async () => {
    const answer = await call('/health/live', { method: 'GET' });
    expect(answer.status).toBe(200);
  });

  it('ok answers 200 with an id and records the request', async () => {
    const path = `/hooks/ok/${unique()}`;
    const body = JSON.stringify({ hello: 'world' });
    const answer = await call(path, { body, headers: { 'Idempotency-Key': 'msg-1' } });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ ok: true, id: expect.any(String) });

    const [request, ...rest] = await recorded(`path=${encodeURIComponent(path)}`);
    expect(rest).toEqual([]);
    expect(request).toMatchObject({
      path,
      method: 'POST',
      body,
      bodyBytes: body.length,
      attempt: 1,
      script: 'ok',
      outcome: '200',
    });
    expect(request?.headers['idempotency-key']).toBe('msg-1');
    expect(request?.receivedAt).toBeGreaterThan(Date.now() - 60_000);
  });

  it('fail-<status>-<n> fails n times on its path, then succeeds', async () => {
    const path = `/hooks/fail-503-2/${unique()}`;
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await call(path)).status);
    expect(statuses).toEqual([503, 503, 200, 200]);

    const failure = await call(`/hooks/fail-503-1/${unique()}`);
    expect(failure.body).toEqual({
      ok: false,
      error: { status: 503, code: 'simulated_failure', message: expect.any(String) },
    });

    const requests = await recorded(`path=${encodeURIComponent(path)}`);
    expect(requests.map((r) => [r.attempt, r.outcome])).toEqual([
      [1, '503'],
      [2, '503'],
      [3, '200'],
      [4, '200'],
    ]);
  });

  it('error-<code>-<n> on a webhook: a numeric code is a status, a name is a 400', async () => {
    const numeric = `/hooks/error-502-1/${unique()}`;
    expect((await call(numeric)).status).toBe(502);
    expect((await call(numeric)).status).toBe(200);
    const named = await call(`/hooks/error-quota_gone-1/${unique()}`);
    expect(named.status).toBe(400);
    expect(named.body).toEqual({
      ok: false,
      error: { status: 400, code: 'quota_gone', message: expect.any(String) },
    });
  });

  it('records webhooks without a recipient', async () => {
    const path = `/hooks/ok/${unique()}`;
    await call(path);
    const [request] = await recorded(`path=${encodeURIComponent(path)}`);
    expect(request?.recipient).toBeNull();
  });

  it('counts attempts per full path', async () => {
    const a = `/hooks/fail-500-1/${unique()}`;
    const b = `/hooks/fail-500-1/${unique()}`;
    expect((await call(a)).status).toBe(500);
    expect((await call(b)).status).toBe(500);
    expect((await call(a)).status).toBe(200);
    expect((await call(b)).status).toBe(200);
  });

  it('always-<status> never succeeds', async () => {
    const path = `/hooks/always-400/${unique()}`;
    for (let i = 0; i < 3; i += 1) expect((await call(path)).status).toBe(400);
  });

  it('retry-after-<s>-<n> answers 429 with Retry-After, then 200', async () => {
    const path = `/hooks/retry-after-3-1/${unique()}`;
    const first = await call(path);
    expect(first.status).toBe(429);
    expect(first.headers['retry-after']).toBe('3');
    const second = await call(path);
    expect(second.status).toBe(200);
    expect(second.headers['retry-after']).toBeUndefined();
  });

  it('reset-<n> drops the connection without an answer, then succeeds', async () => {
    const path = `/hooks/reset-1/${unique()}`;
    const failure = await call(path).then(
      () => undefined,
      (error: Error & { code?: string; cause?: { code?: string } }) => error,
    );
    expect(failure).toBeDefined();
    expect(['ECONNRESET', 'UND_ERR_SOCKET']).toContain(failure?.code ?? failure?.cause?.code);

    expect((await call(path)).status).toBe(200);
    const requests = await recorded(`path=${encodeURIComponent(path)}`);
    expect(requests.map((r) => r.outcome)).toEqual(['reset', '200']);
  });

  it('reset-<n> is a socket error for fetch too', async () => {
    const path = `/hooks/reset-1/${unique()}`;
    await expect(fetch(`${base}${path}`, { method: 'POST', body: '{}' })).rejects.toThrow(
      'fetch failed',
    );
    expect((await fetch(`${base}${path}`, { method: 'POST', body: '{}' })).status).toBe(200);
  });

  it('hang-<n> never answers until the client gives up, then succeeds', async () => {
    const path = `/hooks/hang-1/${unique()}`;
    const started = Date.now();
    await expect(call(path, { headersTimeout: 300 })).rejects.toMatchObject({
      code: 'UND_ERR_HEADERS_TIMEOUT',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);

    expect((await call(path)).status).toBe(200);
    const requests = await recorded(`path=${encodeURIComponent(path)}`);
    expect(requests.map((r) => [r.attempt, r.outcome])).toEqual([
      [1, 'hang'],
      [2, '200'],
    ]);
  });

  it('close() does not wait for hanging requests', async () => {
    const other = createSimulator();
    const { url } = await other.listen(0);
    const hanging = call(`/hooks/hang-1/${unique()}`, { origin: url }).catch(
      (error: Error) => error,
    );
    await waitUntil(async () => other.stats().total === 1);
    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await hanging).toBeInstanceOf(Error);
  });

  it('X-Sim-Script overrides the script in the path', async () => {
    const path = `/hooks/ok/${unique()}`;
    const answer = await call(path, { headers: { 'X-Sim-Script': 'always-502' } });
    expect(answer.status).toBe(502);
    const [request] = await recorded(`path=${encodeURIComponent(path)}`);
    expect(request).toMatchObject({ script: 'always-502', outcome: '502' });
  });

  it('rejects an unknown script with 400 naming it', async () => {
    const answer = await call(`/hooks/fial-503-2/${unique()}`);
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain('unknown script \\"fial-503-2\\"');

    const viaHeader = await call(`/hooks/ok/${unique()}`, { headers: { 'X-Sim-Script': 'nope' } });
    expect(viaHeader.status).toBe(400);
    expect(JSON.stringify(viaHeader.body)).toContain('nope');

    expect((await call('/hooks/')).status).toBe(400);
  });

  it('applies latency: global, ?latency= and X-Sim-Latency-Ms', async () => {
    const slow = createSimulator({ latencyMs: 200 });
    const { url } = await slow.listen(0);
    try {
      const timed = async (path: string, headers?: Record<string, string>): Promise<number> => {
        const started = Date.now();
        expect((await call(path, { origin: url, headers })).status).toBe(200);
        return Date.now() - started;
      };
      expect(await timed(`/hooks/ok/${unique()}`)).toBeGreaterThanOrEqual(190);
      expect(await timed(`/hooks/ok/${unique()}?latency=0`)).toBeLessThan(150);
      expect(await timed(`/hooks/ok/${unique()}`, { 'X-Sim-Latency-Ms': '0' })).toBeLessThan(150);
    } finally {
      await slow.close();
    }

    const started = Date.now();
    expect((await call(`/hooks/ok/${unique()}?latency=150`)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    const failing = Date.now();
    const answer = await call(`/hooks/fail-503-1/${unique()}`, {
      headers: { 'X-Sim-Latency-Ms': '150' },
    });
    expect(answer.status).toBe(503);
    expect(Date.now() - failing).toBeGreaterThanOrEqual(140);
  });

  it('rejects a malformed latency with 400 naming it', async () => {
    const viaQuery = await call(`/hooks/ok/${unique()}?latency=soon`);
    expect(viaQuery.status).toBe(400);
    expect(JSON.stringify(viaQuery.body)).toContain('latency must be');
    const viaHeader = await call(`/hooks/ok/${unique()}`, {
      headers: { 'X-Sim-Latency-Ms': '-5' },
    });
    expect(viaHeader.status).toBe(400);
    expect(JSON.stringify(viaHeader.body)).toContain('X-Sim-Latency-Ms');
  });

  it('records the arrival time of each attempt, so retry spacing can be asserted', async () => {
    const path = `/hooks/fail-503-1/${unique()}`;
    await call(path);
    await new Promise((resolve) => setTimeout(resolve, 120));
    await call(path);
    const [first, second] = await recorded(`path=${encodeURIComponent(path)}`);
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(110);
  });

  it('drains large bodies, keeps 4 KiB of them, and keeps the connection usable', async () => {
    const path = `/hooks/ok/${unique()}`;
    const big = Buffer.alloc(5 * 1024 * 1024, 'x');
    expect((await call(path, { body: big })).status).toBe(200);
    expect((await call(path, { body: big })).status).toBe(200);
    const requests = await recorded(`path=${encodeURIComponent(path)}`);
    expect(requests).toHaveLength(2);
    expect(requests[0]?.body).toHaveLength(BODY_RECORD_LIMIT);
    expect(requests[0]?.bodyBytes).toBe(big.length);
  });

  it('filters recordings by prefix and counts them in stats', async () => {
    const prefix = `/hooks/ok/${unique()}`;
    await call(`${prefix}/a`);
    await call(`${prefix}/a`);
    await call(`${prefix}/b`);
    const requests = await recorded(`prefix=${encodeURIComponent(prefix)}`);
    expect(requests.map((r) => r.path)).toEqual([`${prefix}/a`, `${prefix}/a`, `${prefix}/b`]);

    const stats = await call(`/_sim/stats?prefix=${encodeURIComponent(prefix)}`, {
      method: 'GET',
    });
    expect(stats.status).toBe(200);
    expect(stats.body).toMatchObject({
      byPath: { [`${prefix}/a`]: 2, [`${prefix}/b`]: 1 },
      truncated: false,
    });
    expect((stats.body as SimStats).total).toBeGreaterThanOrEqual(3);
  });

  it('keeps only the newest maxRecorded requests but counts them all', async () => {
    const small = createSimulator({ maxRecorded: 3 });
    const { url } = await small.listen(0);
    try {
      const prefix = `/hooks/ok/${unique()}`;
      for (let i = 1; i <= 5; i += 1) await call(`${prefix}/${i}`, { origin: url });
      const requests = await recorded('', url);
      expect(requests.map((r) => r.path)).toEqual([`${prefix}/3`, `${prefix}/4`, `${prefix}/5`]);
      const stats = (await call('/_sim/stats?limit=2', { method: 'GET', origin: url }))
        .body as SimStats;
      expect(stats).toMatchObject({ total: 5, recorded: 3, paths: 5, truncated: true });
      expect(Object.keys(stats.byPath)).toHaveLength(2);
    } finally {
      await small.close();
    }
  });

  it('DELETE /_sim/requests resets recordings and attempt counters', async () => {
    const local = createSimulator();
    const { url } = await local.listen(0);
    try {
      const path = `/hooks/fail-503-1/${unique()}`;
      expect((await call(path, { origin: url })).status).toBe(503);
      expect((await call('/_sim/requests', { method: 'DELETE', origin: url })).status).toBe(200);
      expect(await recorded('', url)).toEqual([]);
      expect((await call('/_sim/stats', { method: 'GET', origin: url })).body).toMatchObject({
        total: 0,
        byPath: {},
      });
      // The counter starts again, so the script fails once more.
      expect((await call(path, { origin: url })).status).toBe(503);
    } finally {
      await local.close();
    }
  });

  it('answers unknown routes and methods without recording them', async () => {
    expect((await call('/nowhere')).status).toBe(404);
    const wrongMethod = await call(`/hooks/ok/${unique()}`, { method: 'GET' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe('POST');
    expect((await call('/_sim/stats', { method: 'PUT' })).status).toBe(405);
    expect((await call('/_sim/requests?limit=x', { method: 'GET' })).status).toBe(400);
  });

  it('survives malformed HTTP', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const { port } = new URL(base);
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write('THIS IS NOT HTTP\r\n\x00\x01\r\n\r\n');
      });
      let data = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (data += chunk));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);

    // A client that vanishes mid-body is recorded as aborted, not a crash.
    const path = `/hooks/ok/${unique()}`;
    await new Promise<void>((resolve) => {
      const { port } = new URL(base);
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\npartial`);
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 50);
      });
    });
    await waitUntil(async () => (await recorded(`path=${encodeURIComponent(path)}`)).length === 1);
    const [aborted] = await recorded(`path=${encodeURIComponent(path)}`);
    expect(aborted).toMatchObject({ outcome: 'aborted', body: 'partial' });

    expect((await call('/health/live', { method: 'GET' })).status).toBe(200);
  });
});

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
