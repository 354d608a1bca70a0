import { randomUUID } from 'node:crypto';
import http2, { type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { generateKeyPair, SignJWT, type KeyLike } from 'jose';
import nodemailer from 'nodemailer';
import { createSimulator, type RecordedRequest, type Simulator } from '@tools/provider-sim';
import { waitFor } from '@tools/harness';

// Needs no broker, registry or database: the simulator runs in-process on free ports, and each
// provider is called with a real client (fetch, node:http2, nodemailer).

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

const unique = (): string => randomUUID().slice(0, 8);
const SENDGRID_KEY = 'SG.sim-key';
const ACCOUNT = 'AC00000000000000000000000000000001';
const TWILIO_AUTH = `Basic ${Buffer.from(`${ACCOUNT}:secret`).toString('base64')}`;

describe('provider simulator: provider APIs', () => {
  let sim: Simulator;
  let base: string;

  async function call(
    path: string,
    init: { method?: string; headers?: Record<string, string>; body?: string } = {},
  ): Promise<Answer> {
    const res = await fetch(`${base}${path}`, {
      method: init.method ?? 'POST',
      headers: init.headers,
      body: init.body,
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: text === '' ? undefined : JSON.parse(text),
    };
  }

  const json = (body: unknown, headers: Record<string, string> = {}) => ({
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

  async function register(recipient: string, scripts: Record<string, string>): Promise<Answer> {
    return call(`/_sim/recipients/${encodeURIComponent(recipient)}`, {
      method: 'PUT',
      ...json(scripts),
    });
  }

  beforeAll(async () => {
    sim = createSimulator({ apnsPort: 0, smtpPort: 0 });
    ({ url: base } = await sim.listen(0, '127.0.0.1'));
  });

  afterAll(async () => {
    await sim.close();
  });

  it('listens on three ports and names them', async () => {
    expect(sim.apnsUrl()).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sim.smtpUrl()).toMatch(/^smtp:\/\/127\.0\.0\.1:\d+$/);
    const plain = createSimulator();
    const addresses = await plain.listen(0);
    try {
      expect(addresses.apnsUrl).toBeUndefined();
      expect(addresses.smtpUrl).toBeUndefined();
      expect(() => plain.apnsUrl()).toThrow('no APNs listener');
    } finally {
      await plain.close();
    }
  });

  describe('SendGrid', () => {
    const mail = (to: string, extra: Record<string, unknown> = {}) =>
      json(
        {
          personalizations: [{ to: [{ email: to }] }],
          from: { email: 'noreply@sim.test' },
          subject: 'Hi',
          content: [{ type: 'text/plain', value: 'hello' }],
          ...extra,
        },
        { authorization: `Bearer ${SENDGRID_KEY}` },
      );

    it('accepts a mail with 202 and an X-Message-Id, and records the recipient', async () => {
      const to = `m-${unique()}@sim.test`;
      const answer = await call('/v3/mail/send', mail(to));
      expect(answer.status).toBe(202);
      expect(answer.body).toBeUndefined();
      expect(answer.headers.get('x-message-id')).toMatch(/^[A-Za-z0-9_-]{22}$/);
      const [recorded, ...rest] = sim.requests({ recipient: to });
      expect(rest).toEqual([]);
      expect(recorded).toMatchObject({
        path: '/v3/mail/send',
        method: 'POST',
        recipient: to,
        attempt: 1,
        script: 'ok',
        outcome: '202',
      });
    });

    it('answers auth and validation errors in SendGrid format', async () => {
      const to = `m-${unique()}@sim.test`;
      const unauthorised = await call('/v3/mail/send', { ...mail(to), headers: {} });
      expect(unauthorised.status).toBe(401);
      expect(unauthorised.body).toEqual({
        errors: [{ message: expect.any(String), field: null, help: null }],
      });
      const noFrom = await call('/v3/mail/send', mail(to, { from: {} }));
      expect(noFrom.status).toBe(400);
      expect(noFrom.body).toMatchObject({ errors: [{ field: 'from.email' }] });
    });

    it('runs an inline fail script per recipient, in SendGrid format', async () => {
      const to = `fail-503-1+m-${unique()}@sim.test`;
      const first = await call('/v3/mail/send', mail(to));
      expect(first.status).toBe(503);
      expect(first.body).toEqual({
        errors: [{ message: 'service unavailable', field: null, help: null }],
      });
      // Another recipient on the same route has its own counter.
      expect((await call('/v3/mail/send', mail(`fail-503-1+o-${unique()}@sim.test`))).status).toBe(
        503,
      );
      expect((await call('/v3/mail/send', mail(to))).status).toBe(202);
    });

    it('adds Retry-After and X-RateLimit-Reset to a scripted 429', async () => {
      const to = `retry-after-2-1+m-${unique()}@sim.test`;
      const before = Math.floor(Date.now() / 1000);
      const answer = await call('/v3/mail/send', mail(to));
      expect(answer.status).toBe(429);
      expect(answer.headers.get('retry-after')).toBe('2');
      const reset = Number(answer.headers.get('x-ratelimit-reset'));
      expect(reset).toBeGreaterThanOrEqual(before + 2);
      expect(reset).toBeLessThanOrEqual(before + 4);
    });

    it('reports processed, then the scripted final status', async () => {
      const delivered = `m-${unique()}@sim.test`;
      const bounced = `m-${unique()}@sim.test`;
      expect((await register(delivered, { status: 'delivered-after-100' })).status).toBe(200);
      const lookup = async (id: string) =>
        call(`/v3/messages?limit=1&query=${encodeURIComponent(`msg_id LIKE "${id}%"`)}`, {
          method: 'GET',
          headers: { authorization: `Bearer ${SENDGRID_KEY}` },
        });
      const idOf = async (to: string) =>
        (await call('/v3/mail/send', mail(to))).headers.get('x-message-id') ?? '';

      const id = await idOf(delivered);
      const first = await lookup(id);
      expect(first.status).toBe(200);
      expect(first.body).toEqual({
        messages: [
          expect.objectContaining({
            msg_id: expect.stringMatching(new RegExp(`^${id}\\.`)),
            status: 'processed',
            to_email: delivered,
            from_email: 'noreply@sim.test',
            subject: 'Hi',
          }),
        ],
      });
      await waitFor(
        'SendGrid delivered',
        async () => {
          const body = (await lookup(id)).body as { messages: Array<{ status: string }> };
          return body.messages[0]?.status === 'delivered' ? true : undefined;
        },
        { timeoutMs: 5000, intervalMs: 20 },
      );

      // An inline status script works for email too.
      const bouncedId = await idOf(`undelivered-after-0+${bounced}`);
      expect(((await lookup(bouncedId)).body as { messages: unknown[] }).messages).toEqual([
        expect.objectContaining({ status: 'not_delivered' }),
      ]);
      expect((await lookup('unknownid')).body).toEqual({ messages: [] });
      expect(
        (
          await call('/v3/messages?query=nonsense', {
            method: 'GET',
            headers: { authorization: `Bearer ${SENDGRID_KEY}` },
          })
        ).status,
      ).toBe(400);
    });
  });

  describe('Twilio', () => {
    const sendPath = `/2010-04-01/Accounts/${ACCOUNT}/Messages.json`;
    const statusPath = (sid: string) => `/2010-04-01/Accounts/${ACCOUNT}/Messages/${sid}.json`;
    const phone = (): string => `+1415${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
    const sms = (to: string, auth = TWILIO_AUTH) => ({
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: auth },
      body: new URLSearchParams({ To: to, From: '+15005550006', Body: 'hello' }).toString(),
    });
    const lookup = (sid: string) =>
      call(statusPath(sid), { method: 'GET', headers: { authorization: TWILIO_AUTH } });

    it('accepts a message with 201 and a queued message resource', async () => {
      const to = phone();
      const answer = await call(sendPath, sms(to));
      expect(answer.status).toBe(201);
      expect(answer.body).toMatchObject({
        sid: expect.stringMatching(/^SM[0-9a-f]{32}$/),
        status: 'queued',
        to,
        from: '+15005550006',
        body: 'hello',
        account_sid: ACCOUNT,
        error_code: null,
        error_message: null,
        date_created: expect.stringMatching(/\+0000$/),
      });
      expect(sim.requests({ recipient: to }).map((r) => r.outcome)).toEqual(['201']);
    });

    it('refuses bad credentials with 401 code 20003', async () => {
      const wrong = `Basic ${Buffer.from('ACother:secret').toString('base64')}`;
      for (const auth of [wrong, '']) {
        const answer = await call(sendPath, sms(phone(), auth));
        expect(answer.status).toBe(401);
        expect(answer.body).toEqual({
          code: 20003,
          message: 'Authenticate',
          more_info: 'https://www.twilio.com/docs/errors/20003',
          status: 401,
        });
      }
    });

    it('answers scripted failures with the canonical code, and named codes at their status', async () => {
      const invalid = await call(sendPath, sms(`fail-400-1+${phone()}`));
      expect(invalid.status).toBe(400);
      expect(invalid.body).toMatchObject({ code: 21211, status: 400 });

      const to = phone();
      expect((await register(to, { send: 'error-21610-1' })).status).toBe(200);
      const unsubscribed = await call(sendPath, sms(to));
      expect(unsubscribed.status).toBe(400);
      expect(unsubscribed.body).toMatchObject({
        code: 21610,
        more_info: 'https://www.twilio.com/docs/errors/21610',
      });
      expect((await call(sendPath, sms(to))).status).toBe(201);

      const busy = await call(sendPath, sms(`fail-503-1+${phone()}`));
      expect(busy.body).toMatchObject({ code: 20503, status: 503 });
    });

    it('moves a message from sent to its scripted final status', async () => {
      const cases: Array<[string, string, number | null]> = [
        ['delivered-after-100', 'delivered', null],
        ['undelivered-after-100', 'undelivered', 30005],
        ['failed-after-100', 'failed', 30008],
      ];
      for (const [script, final, errorCode] of cases) {
        const to = phone();
        await register(to, { status: script });
        const sid = ((await call(sendPath, sms(to))).body as { sid: string }).sid;
        const first = await lookup(sid);
        expect(first.status).toBe(200);
        expect(first.body).toMatchObject({ sid, status: 'sent', to, error_code: null });
        const done = await waitFor(
          `Twilio ${final}`,
          async () => {
            const body = (await lookup(sid)).body as Record<string, unknown>;
            return body.status === final ? body : undefined;
          },
          { timeoutMs: 5000, intervalMs: 20 },
        );
        expect(done.error_code).toBe(errorCode);
        if (errorCode !== null) expect(done.error_message).toEqual(expect.any(String));
      }
    });

    it('fails status lookups by the check script, counted apart from sends', async () => {
      const to = phone();
      await register(to, { send: 'fail-503-1', check: 'fail-500-1' });
      expect((await call(sendPath, sms(to))).status).toBe(503);
      const sid = ((await call(sendPath, sms(to))).body as { sid: string }).sid;
      const failing = await lookup(sid);
      expect(failing.status).toBe(500);
      expect(failing.body).toMatchObject({ code: 20500 });
      expect((await lookup(sid)).status).toBe(200);
      expect(
        sim.requests({ recipient: to }).map((r) => [r.method, r.attempt, r.outcome, r.script]),
      ).toEqual([
        ['POST', 1, '503', 'fail-503-1'],
        ['POST', 2, '201', 'fail-503-1'],
        ['GET', 1, '500', 'fail-500-1'],
        ['GET', 2, '200', 'fail-500-1'],
      ]);
    });

    it('answers 404 code 20404 for an unknown message', async () => {
      const answer = await lookup(`SM${'0'.repeat(32)}`);
      expect(answer.status).toBe(404);
      expect(answer.body).toMatchObject({ code: 20404, status: 404 });
    });
  });

  describe('Slack', () => {
    const post = (channel: string, headers: Record<string, string> = {}) =>
      call('/api/chat.postMessage', {
        headers: {
          'content-type': 'application/json; charset=utf-8',
          authorization: 'Bearer xoxb-sim',
          ...headers,
        },
        body: JSON.stringify({ channel, text: 'hello' }),
      });

    it('posts a message', async () => {
      const channel = `C${unique()}`;
      const answer = await post(channel);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        ok: true,
        channel,
        ts: expect.stringMatching(/^\d+\.\d{6}$/),
        message: { text: 'hello' },
      });
    });

    it('answers a missing token with ok:false not_authed at 200', async () => {
      const answer = await post(`C${unique()}`, { authorization: '' });
      expect(answer).toMatchObject({ status: 200, body: { ok: false, error: 'not_authed' } });
    });

    it('answers an inline named error at HTTP 200, then succeeds', async () => {
      const channel = `error-channel_not_found-1+C${unique()}`;
      expect(await post(channel)).toMatchObject({
        status: 200,
        body: { ok: false, error: 'channel_not_found' },
      });
      expect((await post(channel)).body).toMatchObject({ ok: true });
    });

    it('rate-limits with 429 and Retry-After, and fails with 5xx', async () => {
      const limited = await post(`retry-after-1-1+C${unique()}`);
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('1');
      expect(limited.body).toEqual({ ok: false, error: 'ratelimited' });
      const down = await post(`fail-503-1+C${unique()}`);
      expect(down).toMatchObject({
        status: 503,
        body: { ok: false, error: 'service_unavailable' },
      });
    });
  });

  describe('FCM', () => {
    let key: KeyLike;

    beforeAll(async () => {
      ({ privateKey: key } = await generateKeyPair('RS256'));
    });

    async function accessToken(): Promise<string> {
      const now = Math.floor(Date.now() / 1000);
      const assertion = await new SignJWT({
        scope: 'https://www.googleapis.com/auth/firebase.messaging',
      })
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
        .setIssuer('sim@project.iam.gserviceaccount.com')
        .setAudience(`${base}/token`)
        .setIssuedAt(now)
        .setExpirationTime(now + 3600)
        .sign(key);
      const answer = await call('/token', {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
          assertion,
        }).toString(),
      });
      expect(answer.status).toBe(200);
      return (answer.body as { access_token: string }).access_token;
    }

    const push = (token: string, bearer: string | undefined) =>
      call('/v1/projects/sim-project/messages:send', {
        headers: {
          'content-type': 'application/json',
          ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }),
        },
        body: JSON.stringify({
          message: { token, notification: { title: 'T', body: 'hello' }, data: { k: 'v' } },
        }),
      });

    it('issues access tokens for a jwt-bearer grant, and refuses anything else', async () => {
      const token = await accessToken();
      expect(token).toMatch(/^ya29\.sim-/);
      const refused = await call('/token', {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      });
      expect(refused.status).toBe(400);
      expect(refused.body).toEqual({
        error: 'invalid_grant',
        error_description: expect.any(String),
      });
      const badJwt = await call('/token', {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=abc',
      });
      expect(badJwt.body).toMatchObject({ error: 'invalid_grant' });
    });

    it('sends with an issued token and refuses others with 401', async () => {
      const device = `tok${unique()}${unique()}`;
      const sent = await push(device, await accessToken());
      expect(sent.status).toBe(200);
      expect(sent.body).toEqual({
        name: expect.stringMatching(/^projects\/sim-project\/messages\/.+/),
      });
      for (const bearer of [undefined, 'ya29.made-up']) {
        const refused = await push(device, bearer);
        expect(refused.status).toBe(401);
        expect(refused.body).toMatchObject({
          error: {
            code: 401,
            status: 'UNAUTHENTICATED',
            details: [{ errorCode: 'THIRD_PARTY_AUTH_ERROR' }],
          },
        });
      }
    });

    it('answers named and status scripts in Google API error format', async () => {
      const token = await accessToken();
      const gone = await push(`error-UNREGISTERED-1+tok${unique()}`, token);
      expect(gone.status).toBe(404);
      expect(gone.body).toEqual({
        error: {
          code: 404,
          message: expect.any(String),
          status: 'NOT_FOUND',
          details: [
            {
              '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError',
              errorCode: 'UNREGISTERED',
            },
          ],
        },
      });
      const down = await push(`fail-503-1+tok${unique()}`, token);
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({
        error: { status: 'UNAVAILABLE', details: [{ errorCode: 'UNAVAILABLE' }] },
      });
      const quota = await push(`retry-after-30-1+tok${unique()}`, token);
      expect(quota.status).toBe(429);
      expect(quota.headers.get('retry-after')).toBe('30');
      expect(quota.body).toMatchObject({ error: { details: [{ errorCode: 'QUOTA_EXCEEDED' }] } });
    });
  });

  describe('APNs (h2c)', () => {
    let session: ClientHttp2Session;
    let providerToken: string;

    beforeAll(async () => {
      const { privateKey } = await generateKeyPair('ES256');
      providerToken = await new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: 'KEY1234567' })
        .setIssuer('TEAM123456')
        .setIssuedAt()
        .sign(privateKey);
      session = http2.connect(sim.apnsUrl());
    });

    afterAll(() => {
      session.close();
    });

    interface H2Answer {
      status: number;
      headers: IncomingHttpHeaders;
      body: unknown;
    }

    function pushTo(
      device: string,
      headers: Record<string, string> = {},
      options: { timeoutMs?: number; payload?: string } = {},
    ): Promise<H2Answer> {
      return new Promise((resolve, reject) => {
        const stream = session.request({
          ':method': 'POST',
          ':path': `/3/device/${encodeURIComponent(device)}`,
          authorization: `bearer ${providerToken}`,
          'apns-topic': 'com.example.app',
          'apns-push-type': 'alert',
          'apns-priority': '10',
          ...headers,
        });
        let status = 0;
        let responseHeaders: IncomingHttpHeaders = {};
        let data = '';
        stream.setEncoding('utf8');
        stream.on('response', (h) => {
          status = Number(h[':status']);
          responseHeaders = h;
        });
        stream.on('data', (chunk: string) => (data += chunk));
        stream.on('end', () =>
          resolve({
            status,
            headers: responseHeaders,
            body: data === '' ? undefined : JSON.parse(data),
          }),
        );
        stream.on('error', reject);
        if (options.timeoutMs !== undefined) {
          stream.setTimeout(options.timeoutMs, () => {
            stream.close(http2.constants.NGHTTP2_CANCEL);
            reject(new Error('client timeout'));
          });
        }
        stream.end(
          options.payload ?? JSON.stringify({ aps: { alert: { title: 'T', body: 'hello' } } }),
        );
      });
    }

    it('answers 200 with the apns-id and records the device token', async () => {
      const device = `tok${unique()}${unique()}`;
      const apnsId = randomUUID();
      const answer = await pushTo(device, { 'apns-id': apnsId });
      expect(answer.status).toBe(200);
      expect(answer.headers['apns-id']).toBe(apnsId);
      expect(answer.body).toBeUndefined();
      const [recorded] = sim.requests({ recipient: device });
      expect(recorded).toMatchObject({
        path: `/3/device/${device}`,
        method: 'POST',
        outcome: '200',
      });
      expect(recorded?.headers['apns-topic']).toBe('com.example.app');
      expect(recorded?.headers[':path']).toBeUndefined();
    });

    it('refuses missing provider tokens and checks the request like APNs', async () => {
      const device = `tok${unique()}${unique()}`;
      expect(await pushTo(device, { authorization: '' })).toMatchObject({
        status: 403,
        body: { reason: 'MissingProviderToken' },
      });
      expect(await pushTo(device, { 'apns-topic': '' })).toMatchObject({
        status: 400,
        body: { reason: 'MissingTopic' },
      });
      expect(await pushTo(device, {}, { payload: '' })).toMatchObject({
        status: 400,
        body: { reason: 'PayloadEmpty' },
      });
    });

    it('answers named reasons and scripted statuses', async () => {
      expect(await pushTo(`error-BadDeviceToken-1+tok${unique()}`)).toMatchObject({
        status: 400,
        body: { reason: 'BadDeviceToken' },
      });
      const gone = await pushTo(`fail-410-1+tok${unique()}`);
      expect(gone.status).toBe(410);
      expect(gone.body).toEqual({ reason: 'Unregistered', timestamp: expect.any(Number) });
      const device = `tok${unique()}${unique()}`;
      await register(device, { send: 'error-TooManyRequests-1' });
      expect((await pushTo(device)).status).toBe(429);
      expect((await pushTo(device)).status).toBe(200);
    });

    it('resets the stream for reset-<n> and never answers hang-<n>, keeping the session', async () => {
      const reset = `reset-1+tok${unique()}`;
      await expect(pushTo(reset)).rejects.toMatchObject({ code: 'ERR_HTTP2_STREAM_ERROR' });
      expect((await pushTo(reset)).status).toBe(200);

      const hang = `hang-1+tok${unique()}`;
      await expect(pushTo(hang, {}, { timeoutMs: 200 })).rejects.toThrow('client timeout');
      expect((await pushTo(hang)).status).toBe(200);
      expect(sim.requests({ recipient: hang }).map((r) => r.outcome)).toEqual(['hang', '200']);
    });
  });

  describe('SMTP', () => {
    const transport = () =>
      nodemailer.createTransport({
        url: sim.smtpUrl().replace('smtp://', 'smtp://user:pass@'),
      } as Parameters<typeof nodemailer.createTransport>[0]);

    const mail = (to: string, headers: Record<string, string> = {}) => ({
      from: 'noreply@sim.test',
      to,
      subject: 'Hello',
      text: 'hello there',
      headers,
    });

    it('accepts a message with 250 and records it per recipient', async () => {
      const to = `m-${unique()}@sim.test`;
      const info = await transport().sendMail(mail(to));
      expect(info.response).toMatch(/^250 OK: queued as /);
      expect(info.accepted).toEqual([to]);
      const [recorded] = sim.requests({ recipient: to });
      expect(recorded).toMatchObject({
        method: 'SMTP',
        path: '/smtp',
        recipient: to,
        attempt: 1,
        outcome: '250',
      });
      expect(recorded?.headers).toMatchObject({
        subject: 'Hello',
        'mail-from': 'noreply@sim.test',
        'rcpt-to': to,
      });
      expect(recorded?.body).toContain('hello there');
    });

    async function failure(to: string, headers: Record<string, string> = {}) {
      return transport()
        .sendMail(mail(to, headers))
        .then(
          () => undefined,
          (error: Error & { responseCode?: number; response?: string; code?: string }) => error,
        );
    }

    it('answers RCPT TO with the scripted reply code and enhanced status', async () => {
      const to = `fail-451-1+m-${unique()}@sim.test`;
      const error = await failure(to);
      expect(error?.responseCode).toBe(451);
      expect(error?.response).toContain('451 4.3.0');
      expect((await transport().sendMail(mail(to))).response).toMatch(/^250/);

      const named = await failure(`error-552-1+m-${unique()}@sim.test`);
      expect(named?.responseCode).toBe(552);

      const registered = `m-${unique()}@sim.test`;
      await register(registered, { send: 'always-550' });
      expect((await failure(registered))?.responseCode).toBe(550);
      expect((await failure(registered))?.responseCode).toBe(550);
      expect(sim.requests({ recipient: registered }).map((r) => r.outcome)).toEqual(['550', '550']);
    });

    it('answers the end of DATA by an X-Sim-Script message header', async () => {
      const to = `m-${unique()}@sim.test`;
      const error = await failure(to, { 'X-Sim-Script': 'fail-554-1' });
      expect(error?.responseCode).toBe(554);
      expect(sim.requests({ recipient: to })).toEqual([
        expect.objectContaining({ script: 'fail-554-1', outcome: '554' }),
      ]);
    });

    it('drops the connection for reset-<n>', async () => {
      const to = `reset-1+m-${unique()}@sim.test`;
      const error = await failure(to);
      expect(error).toBeInstanceOf(Error);
      expect(error?.responseCode).toBeUndefined();
      // A connection error, as Herald's adapter classifies network failures.
      expect(['ECONNECTION', 'ESOCKET']).toContain(error?.code);
      expect((await transport().sendMail(mail(to))).response).toMatch(/^250/);
    });
  });

  it('close() does not wait for hanging APNs streams or SMTP sessions', async () => {
    const other = createSimulator({ apnsPort: 0, smtpPort: 0 });
    await other.listen(0);
    const session = http2.connect(other.apnsUrl());
    session.on('error', () => undefined);
    const stream = session.request({ ':method': 'POST', ':path': '/3/device/hang-1+tok12345678' });
    stream.on('error', () => undefined);
    stream.end('{}');
    const mailer = nodemailer.createTransport({ url: other.smtpUrl() } as Parameters<
      typeof nodemailer.createTransport
    >[0]);
    const hanging = mailer
      .sendMail({ from: 'a@sim.test', to: 'hang-1+b@sim.test', subject: 's', text: 't' })
      .catch((error: Error) => error);
    await waitFor(
      'both hanging requests to arrive',
      () => (other.stats().total === 2 ? true : undefined),
      { timeoutMs: 5000, intervalMs: 20 },
    );
    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await hanging).toBeInstanceOf(Error);
    session.destroy();
  });

  describe('control API', () => {
    it('validates registrations, naming the bad field', async () => {
      const bad = await register('someone', { status: 'fail-503-1' });
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({
        error: { code: 'invalid_registration', field: 'status' },
      });
      expect((await register('someone', { snd: 'ok' })).body).toMatchObject({
        error: { field: 'snd' },
      });
      const notJson = await call('/_sim/recipients/someone', { method: 'PUT', body: '{' });
      expect(notJson.status).toBe(400);
    });

    it('shows, forgets one and forgets all registrations', async () => {
      const recipient = `+1555${unique()}`;
      const path = `/_sim/recipients/${encodeURIComponent(recipient)}`;
      expect((await register(recipient, { send: 'fail-503-1', check: 'always-500' })).body).toEqual(
        { recipient, send: 'fail-503-1', status: null, check: 'always-500' },
      );
      expect((await call(path, { method: 'GET' })).body).toMatchObject({
        recipient,
        send: 'fail-503-1',
      });
      expect((await call(path, { method: 'DELETE' })).body).toEqual({ ok: true, forgotten: true });
      expect((await call(path, { method: 'GET' })).status).toBe(404);

      await register(recipient, { send: 'ok' });
      const all = await call('/_sim/recipients', { method: 'DELETE' });
      expect(all.status).toBe(200);
      expect((await call(path, { method: 'GET' })).status).toBe(404);
    });

    it('lets X-Sim-Script override a registration', async () => {
      const channel = `C${unique()}`;
      await register(channel, { send: 'always-503' });
      const answer = await call('/api/chat.postMessage', {
        headers: {
          'content-type': 'application/json',
          authorization: 'Bearer xoxb-sim',
          'x-sim-script': 'ok',
        },
        body: JSON.stringify({ channel, text: 'hi' }),
      });
      expect(answer.body).toMatchObject({ ok: true });
    });

    it('filters recordings by recipient over HTTP', async () => {
      const channel = `C${unique()}`;
      await call('/api/chat.postMessage', {
        headers: { 'content-type': 'application/json', authorization: 'Bearer xoxb-sim' },
        body: JSON.stringify({ channel, text: 'hi' }),
      });
      const answer = await call(`/_sim/requests?recipient=${encodeURIComponent(channel)}`, {
        method: 'GET',
      });
      const requests = (answer.body as { requests: RecordedRequest[] }).requests;
      expect(requests).toEqual([
        expect.objectContaining({ recipient: channel, path: '/api/chat.postMessage' }),
      ]);
    });

    it('DELETE /_sim/requests forgets registrations, counters and messages', async () => {
      const local = createSimulator();
      const { url } = await local.listen(0);
      const at = (path: string, init: RequestInit = {}) => fetch(`${url}${path}`, init);
      try {
        const to = '+14155550100';
        local.register(to, { send: 'fail-503-1' });
        const form = {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: TWILIO_AUTH,
          },
          body: new URLSearchParams({ To: to, From: '+15005550006', Body: 'x' }).toString(),
        };
        const sendPath = `/2010-04-01/Accounts/${ACCOUNT}/Messages.json`;
        expect((await at(sendPath, form)).status).toBe(503);
        const sent = await at(sendPath, form);
        const { sid } = (await sent.json()) as { sid: string };

        expect((await at('/_sim/requests', { method: 'DELETE' })).status).toBe(200);
        expect(local.requests()).toEqual([]);
        // The registration is gone, so the recipient runs ok; the message is forgotten.
        expect((await at(sendPath, form)).status).toBe(201);
        const lookup = await at(`/2010-04-01/Accounts/${ACCOUNT}/Messages/${sid}.json`, {
          headers: { authorization: TWILIO_AUTH },
        });
        expect(lookup.status).toBe(404);
        expect(local.stats()).toMatchObject({ total: 2, recipients: 2 });
      } finally {
        await local.close();
      }
    });

    it('register() refuses a bad script, naming it', () => {
      expect(() => sim.register('r', { send: 'nope' })).toThrow('unknown script "nope"');
    });
  });
});
