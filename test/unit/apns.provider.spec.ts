import { generateKeyPairSync } from 'node:crypto';
import http2, {
  type Http2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { decodeProtectedHeader, importSPKI, jwtVerify } from 'jose';
import type { ApnsSettings } from '@herald/config';
import {
  APNS_REASONS,
  APNS_TOKEN_TTL_MS,
  ApnsProvider,
  apnsContentProblem,
  apnsIdFor,
  buildApnsCall,
  classifyApnsResponse,
  uuidV5,
} from '../../libs/edge/providers/src/apns.provider';
import type { SendRequest } from '@herald/decisions';
import { setDestinationPolicy } from '@herald/providers';
import { STRICT_DESTINATIONS } from '@herald/destinations';

// These tests' servers listen on loopback, which the network guard refuses unless allowed.
beforeAll(() => setDestinationPolicy({ ...STRICT_DESTINATIONS, allowPrivateNetworks: true }));
afterAll(() => setDestinationPolicy(STRICT_DESTINATIONS));

const keys = generateKeyPairSync('ec', {
  namedCurve: 'P-256',
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

function settings(baseUrl: string): ApnsSettings {
  return {
    baseUrl,
    keyId: 'KEYID12345',
    teamId: 'TEAMID1234',
    privateKey: keys.privateKey,
    topic: 'com.example.app',
  };
}

function pushRequest(recipient: string, overrides: Partial<SendRequest> = {}): SendRequest {
  return {
    messageId: 'msg-1',
    tenantId: 'acme',
    channel: 'push',
    recipient,
    content: { title: 'Hello', text: 'World', orderId: '42' },
    metadata: {},
    attempt: 1,
    ...overrides,
  };
}

const answer = (status: number, reason?: string, headers: Record<string, string> = {}) => ({
  status,
  headers,
  body: reason === undefined ? '' : JSON.stringify({ reason }),
});

describe('classifyApnsResponse', () => {
  // Apple, "Handling notification responses from APNs".
  it.each([
    [429, 'TooManyRequests'],
    [429, 'TooManyProviderTokenUpdates'],
    [500, 'InternalServerError'],
    [503, 'ServiceUnavailable'],
    [503, 'Shutdown'],
    [403, 'ExpiredProviderToken'],
    [400, 'IdleTimeout'],
  ])('retries %i %s', (status, reason) => {
    expect(classifyApnsResponse(answer(status, reason))).toEqual({
      ok: false,
      error: { category: 'retryable', code: `apns_${reason}`, message: expect.any(String) },
    });
  });

  it.each([
    [400, 'BadCollapseId'],
    [400, 'BadDeviceToken'],
    [400, 'BadExpirationDate'],
    [400, 'BadMessageId'],
    [400, 'BadPriority'],
    [400, 'BadTopic'],
    [400, 'DeviceTokenNotForTopic'],
    [400, 'DuplicateHeaders'],
    [400, 'InvalidPushType'],
    [400, 'MissingDeviceToken'],
    [400, 'MissingTopic'],
    [400, 'PayloadEmpty'],
    [400, 'TopicDisallowed'],
    [403, 'BadCertificate'],
    [403, 'BadCertificateEnvironment'],
    [403, 'Forbidden'],
    [403, 'InvalidProviderToken'],
    [403, 'MissingProviderToken'],
    [404, 'BadPath'],
    [405, 'MethodNotAllowed'],
    [410, 'ExpiredToken'],
    [410, 'Unregistered'],
    [413, 'PayloadTooLarge'],
  ])('gives up on %i %s', (status, reason) => {
    expect(classifyApnsResponse(answer(status, reason))).toEqual({
      ok: false,
      error: { category: 'non_retryable', code: `apns_${reason}`, message: expect.any(String) },
    });
  });

  it('files every reason under a status Apple documents', () => {
    for (const { status } of Object.values(APNS_REASONS)) {
      expect([400, 403, 404, 405, 410, 413, 429, 500, 503]).toContain(status);
    }
  });

  it('accepts a 200', () => {
    expect(classifyApnsResponse(answer(200, undefined, { 'apns-id': 'x' }))).toEqual({ ok: true });
  });

  it('judges an undocumented reason by its status', () => {
    expect(classifyApnsResponse(answer(503, 'SomethingNew'))).toMatchObject({
      error: { category: 'retryable', code: 'apns_SomethingNew' },
    });
    expect(classifyApnsResponse(answer(400, 'SomethingNew'))).toMatchObject({
      error: { category: 'non_retryable', code: 'apns_SomethingNew' },
    });
  });

  it('falls back to http_<status> without a usable reason', () => {
    expect(classifyApnsResponse(answer(502))).toMatchObject({
      error: { category: 'retryable', code: 'http_502' },
    });
    const odd = { status: 400, headers: {}, body: JSON.stringify({ reason: 'no spaces allowed' }) };
    expect(classifyApnsResponse(odd)).toMatchObject({
      error: { category: 'non_retryable', code: 'http_400' },
    });
    expect(classifyApnsResponse({ status: 500, headers: {}, body: '<html>' })).toMatchObject({
      error: { code: 'http_500' },
    });
    expect(classifyApnsResponse(answer(400, 'constructor'))).toMatchObject({
      error: {
        category: 'non_retryable',
        code: 'apns_constructor',
        message: '400 Bad Request: constructor',
      },
    });
  });

  it('honours Retry-After', () => {
    const verdict = classifyApnsResponse(answer(429, 'TooManyRequests', { 'retry-after': '7' }));
    expect(verdict).toMatchObject({ retryAfterMs: 7000 });
  });
});

describe('apns-id', () => {
  it('is a UUID messageId itself', () => {
    const id = '8f14e45f-ceea-467a-9d34-5f7f4a7b2b8e';
    expect(apnsIdFor(id)).toBe(id);
  });

  it('derives a stable version 5 UUID from any other messageId', () => {
    const id = apnsIdFor('order-42/shipped');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(apnsIdFor('order-42/shipped')).toBe(id);
    expect(apnsIdFor('order-43/shipped')).not.toBe(id);
  });

  it('follows RFC 9562 (the DNS-namespace example)', () => {
    const dns = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
    expect(uuidV5('www.example.com', dns)).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });
});

describe('buildApnsCall', () => {
  it('builds the alert request', () => {
    const call = buildApnsCall(settings('https://apns.test/'), pushRequest('ab cd/ef'), 'JWT');
    expect(call.method).toBe('POST');
    expect(call.url).toBe('https://apns.test/3/device/ab%20cd%2Fef');
    expect(call.headers).toEqual({
      authorization: 'bearer JWT',
      'apns-topic': 'com.example.app',
      'apns-push-type': 'alert',
      'apns-priority': '10',
      'apns-id': apnsIdFor('msg-1'),
      'content-type': 'application/json',
    });
    expect(JSON.parse(call.body ?? '')).toEqual({
      aps: { alert: { title: 'Hello', body: 'World' } },
      orderId: '42',
    });
  });

  it('leaves the title out when there is none', () => {
    const call = buildApnsCall(
      settings('https://apns.test'),
      pushRequest('tok12345678', { content: { text: 'Hi' } }),
      'JWT',
    );
    expect(JSON.parse(call.body ?? '')).toEqual({ aps: { alert: { body: 'Hi' } } });
  });

  it('requires text and keeps aps for itself', () => {
    expect(apnsContentProblem({ title: 'x' })).toMatch(/text/);
    expect(apnsContentProblem({ text: 'x', aps: '{}' })).toMatch(/aps/);
    expect(apnsContentProblem({ text: 'x' })).toBeNull();
  });
});

describe('ApnsProvider against a local h2c server', () => {
  let server: Http2Server;
  let baseUrl: string;
  const seen: IncomingHttpHeaders[] = [];
  let sessionsOpened = 0;
  let lastSession: ServerHttp2Session | undefined;
  let expiredOnce = false;

  beforeAll(async () => {
    server = http2.createServer();
    server.on('session', (session: ServerHttp2Session) => {
      sessionsOpened += 1;
      lastSession = session;
    });
    server.on('stream', (stream: ServerHttp2Stream, headers) => {
      seen.push(headers);
      const token = decodeURIComponent(String(headers[':path']).split('/').pop() ?? '');
      stream.resume();
      stream.on('end', () => {
        const reply = (status: number, reason?: string) => {
          stream.respond({ ':status': status, 'apns-id': String(headers['apns-id']) });
          stream.end(reason === undefined ? undefined : JSON.stringify({ reason }));
        };
        if (token.startsWith('busy')) reply(503, 'ServiceUnavailable');
        else if (token.startsWith('gone')) reply(410, 'Unregistered');
        else if (token.startsWith('expired') && !expiredOnce) {
          expiredOnce = true;
          reply(403, 'ExpiredProviderToken');
        } else if (token.startsWith('hang')) return;
        else reply(200);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    seen.length = 0;
  });

  it('sends with a valid ES256 provider token and records the apns-id', async () => {
    const provider = new ApnsProvider(settings(baseUrl), 2000);
    try {
      const result = await provider.send(pushRequest('okdevice123'));
      expect(result).toMatchObject({
        ok: true,
        status: 'sent',
        providerMessageId: apnsIdFor('msg-1'),
      });
      if (!result.ok) return;
      expect(result.log.response?.status).toBe(200);
      expect(result.log.request.headers.authorization).toBe('bearer [REDACTED]');
      expect(result.log.durationMs).toBeGreaterThanOrEqual(0);

      const headers = seen[0] ?? {};
      expect(headers[':method']).toBe('POST');
      expect(headers[':path']).toBe('/3/device/okdevice123');
      expect(headers['apns-topic']).toBe('com.example.app');
      const jwt = String(headers.authorization).replace(/^bearer /, '');
      const { payload } = await jwtVerify(jwt, await importSPKI(keys.publicKey, 'ES256'));
      expect(payload.iss).toBe('TEAMID1234');
      expect(typeof payload.iat).toBe('number');
      expect(decodeProtectedHeader(jwt)).toEqual({ alg: 'ES256', kid: 'KEYID12345' });
      expect(JSON.stringify(result)).not.toContain(jwt);
    } finally {
      await provider.close();
    }
  });

  it('classifies a retryable and a final answer without leaking the key or token', async () => {
    const provider = new ApnsProvider(settings(baseUrl), 2000);
    try {
      const busy = await provider.send(pushRequest('busydevice1'));
      expect(busy).toMatchObject({
        ok: false,
        error: { category: 'retryable', code: 'apns_ServiceUnavailable' },
      });
      const gone = await provider.send(pushRequest('gonedevice1'));
      expect(gone).toMatchObject({
        ok: false,
        error: { category: 'non_retryable', code: 'apns_Unregistered' },
        log: { response: { status: 410 } },
      });
      const jwt = String(seen[0]?.authorization).replace(/^bearer /, '');
      const keyBody = keys.privateKey.split('\n')[1] ?? 'missing';
      for (const result of [busy, gone]) {
        const text = JSON.stringify(result);
        expect(text).not.toContain(jwt);
        expect(text).not.toContain(keyBody);
      }
      expect(sessionsOpened).toBeGreaterThan(0);
    } finally {
      await provider.close();
    }
  });

  it('reuses one session and one token, and signs again when told it expired', async () => {
    let now = Date.UTC(2024, 0, 1);
    const provider = new ApnsProvider(settings(baseUrl), 2000, () => now);
    const before = sessionsOpened;
    try {
      await provider.send(pushRequest('okdevice123'));
      await provider.send(pushRequest('okdevice123'));
      expect(seen[1]?.authorization).toBe(seen[0]?.authorization);
      expect(sessionsOpened).toBe(before + 1);

      const expired = await provider.send(pushRequest('expireddev1'));
      expect(expired).toMatchObject({
        error: { category: 'retryable', code: 'apns_ExpiredProviderToken' },
      });
      now += 1000;
      await provider.send(pushRequest('expireddev1'));
      expect(seen[3]?.authorization).not.toBe(seen[2]?.authorization);

      now += APNS_TOKEN_TTL_MS;
      await provider.send(pushRequest('okdevice123'));
      expect(seen[4]?.authorization).not.toBe(seen[3]?.authorization);
    } finally {
      await provider.close();
    }
  });

  it('dials a new session after the server sends GOAWAY', async () => {
    const provider = new ApnsProvider(settings(baseUrl), 2000);
    try {
      await provider.send(pushRequest('okdevice123'));
      const before = sessionsOpened;
      // close() sends GOAWAY and ends the connection, as APNs does when it shuts one down.
      lastSession?.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const result = await provider.send(pushRequest('okdevice123'));
      expect(result.ok).toBe(true);
      expect(sessionsOpened).toBe(before + 1);
    } finally {
      await provider.close();
    }
  });

  it('times out a request the server never answers', async () => {
    const provider = new ApnsProvider(settings(baseUrl), 200);
    try {
      const result = await provider.send(pushRequest('hangdevice1'));
      expect(result).toMatchObject({
        ok: false,
        error: { category: 'network', code: 'timeout' },
        log: { response: null },
      });
    } finally {
      await provider.close();
    }
  });

  it('reports a refused connection as a network failure', async () => {
    const closed = http2.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const provider = new ApnsProvider(settings(`http://127.0.0.1:${port}`), 2000);
    try {
      const result = await provider.send(pushRequest('okdevice123'));
      expect(result).toMatchObject({
        ok: false,
        error: { category: 'network', code: 'ECONNREFUSED' },
      });
    } finally {
      await provider.close();
    }
  });

  it('turns a key that cannot sign into an internal failure without a request', async () => {
    const provider = new ApnsProvider({ ...settings(baseUrl), privateKey: 'not a key' }, 2000);
    const result = await provider.send(pushRequest('okdevice123'));
    expect(result).toMatchObject({ ok: false, error: { category: 'internal' }, log: null });
    expect(seen).toHaveLength(0);
  });

  it('refuses content without text before calling APNs', async () => {
    const provider = new ApnsProvider(settings(baseUrl), 2000);
    const result = await provider.send(pushRequest('okdevice123', { content: { title: 'x' } }));
    expect(result).toEqual({
      ok: false,
      error: { category: 'non_retryable', code: 'invalid_content', message: expect.any(String) },
      log: null,
    });
    expect(seen).toHaveLength(0);
  });
});
