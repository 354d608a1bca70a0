import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeProtectedHeader, importSPKI, jwtVerify } from 'jose';
import type {
  FcmSettings,
  SendgridSettings,
  SlackSettings,
  TwilioSettings,
} from '../../libs/edge/config/src/provider-settings';
import {
  FCM_SCOPE,
  FcmProvider,
  buildFcmSend,
  classifyFcmError,
  classifyFcmResponse,
} from '../../libs/edge/providers/src/fcm.provider';
import {
  GoogleAccessTokens,
  TOKEN_REFRESH_MARGIN_MS,
  classifyGoogleTokenError,
  readAccessToken,
} from '../../libs/edge/providers/src/google-oauth';
import type { SendRequest } from '@herald/decisions';
import {
  SendgridProvider,
  buildSendgridActivityQuery,
  buildSendgridMailSend,
  classifySendgridError,
  classifySendgridResponse,
  readSendgridActivity,
  sendgridContentProblem,
  sendgridRetryAfterMs,
} from '../../libs/edge/providers/src/sendgrid.provider';
import {
  SLACK_ERRORS,
  SlackProvider,
  buildSlackPostMessage,
  classifySlackError,
  classifySlackResponse,
} from '../../libs/edge/providers/src/slack.provider';
import {
  TwilioProvider,
  buildTwilioSend,
  buildTwilioStatusFetch,
  classifyTwilioError,
  classifyTwilioResponse,
  readTwilioMessage,
  twilioStatusReading,
} from '../../libs/edge/providers/src/twilio.provider';
import { setDestinationPolicy } from '@herald/providers';
import { STRICT_DESTINATIONS } from '@herald/destinations';

// These tests' servers listen on loopback, which the network guard refuses unless allowed.
beforeAll(() => setDestinationPolicy({ ...STRICT_DESTINATIONS, allowPrivateNetworks: true }));
afterAll(() => setDestinationPolicy(STRICT_DESTINATIONS));

const NOW = Date.UTC(2024, 5, 1, 12, 0, 0);

function sendRequest(overrides: Partial<SendRequest> = {}): SendRequest {
  return {
    messageId: 'msg-0001',
    tenantId: 'tenant-a',
    channel: 'email',
    recipient: 'ada@example.test',
    content: { subject: 'Hi', text: 'Hello' },
    metadata: {},
    attempt: 1,
    ...overrides,
  };
}

/** A request whose content blows up when read: the adapters must still not throw. */
function explodingRequest(channel: SendRequest['channel']): SendRequest {
  return sendRequest({ channel, content: null as unknown as Record<string, string> });
}

const res = (status: number, body: unknown = '', headers: Record<string, string> = {}) => ({
  status,
  headers,
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

// ---------------------------------------------------------------------------------------------
// SendGrid

const sendgrid: SendgridSettings = {
  baseUrl: 'http://sg.test/',
  apiKey: 'SG.secret-api-key',
  from: 'noreply@herald.test',
};

describe('SendGrid adapter (pure)', () => {
  it('requires a subject and a text or html body', () => {
    expect(sendgridContentProblem({ text: 'x' })).toMatch(/subject/);
    expect(sendgridContentProblem({ subject: 's' })).toMatch(/text or html/);
    expect(sendgridContentProblem({ subject: 's', html: '<p>x</p>' })).toBeNull();
  });

  it('builds the Mail Send request, text/plain before text/html', () => {
    const call = buildSendgridMailSend(
      sendgrid,
      sendRequest({ content: { subject: 'S', html: '<b>H</b>', text: 'T' } }),
    );
    expect(call.method).toBe('POST');
    expect(call.url).toBe('http://sg.test/v3/mail/send');
    expect(call.headers).toMatchObject({
      authorization: 'Bearer SG.secret-api-key',
      'idempotency-key': 'msg-0001',
      'user-agent': 'herald/1',
      'content-type': 'application/json',
    });
    expect(JSON.parse(call.body ?? '')).toEqual({
      personalizations: [{ to: [{ email: 'ada@example.test' }] }],
      from: { email: 'noreply@herald.test' },
      subject: 'S',
      content: [
        { type: 'text/plain', value: 'T' },
        { type: 'text/html', value: '<b>H</b>' },
      ],
    });
  });

  it('queries Email Activity by msg_id prefix', () => {
    const call = buildSendgridActivityQuery(sendgrid, {
      messageId: 'msg-0001',
      providerMessageId: 'xid-42',
    });
    const url = new URL(call.url);
    expect(call.method).toBe('GET');
    expect(url.pathname).toBe('/v3/messages');
    expect(url.searchParams.get('limit')).toBe('1');
    expect(url.searchParams.get('query')).toBe('msg_id LIKE "xid-42%"');
    expect(call.headers.authorization).toBe('Bearer SG.secret-api-key');
    expect(call.headers['idempotency-key']).toBe('msg-0001');
  });

  it('accepts 202', () => {
    expect(classifySendgridResponse(res(202))).toEqual({ ok: true });
  });

  it.each([429, 500, 502, 503, 504])('retries %i', (status) => {
    expect(classifySendgridError(status, '')).toMatchObject({
      category: 'retryable',
      code: `http_${status}`,
    });
  });

  it.each([400, 401, 403, 404, 413])('does not retry %i', (status) => {
    expect(classifySendgridError(status, '')).toMatchObject({
      category: 'non_retryable',
      code: `http_${status}`,
    });
  });

  it('quotes the errors body in the message', () => {
    const body = { errors: [{ message: 'Invalid email', field: 'personalizations.0.to' }] };
    expect(classifySendgridError(400, JSON.stringify(body)).message).toBe(
      'SendGrid answered 400 Bad Request: personalizations.0.to: Invalid email',
    );
  });

  it('reads the back-off from X-RateLimit-Reset and Retry-After (the later wins)', () => {
    const reset = String(NOW / 1000 + 30);
    expect(sendgridRetryAfterMs({ 'x-ratelimit-reset': reset }, NOW)).toBe(30_000);
    expect(sendgridRetryAfterMs({ 'retry-after': '5' }, NOW)).toBe(5_000);
    expect(sendgridRetryAfterMs({ 'retry-after': '60', 'x-ratelimit-reset': reset }, NOW)).toBe(
      60_000,
    );
    expect(sendgridRetryAfterMs({ 'x-ratelimit-reset': String(NOW / 1000 - 10) }, NOW)).toBe(0);
    expect(sendgridRetryAfterMs({}, NOW)).toBeUndefined();
    expect(
      classifySendgridResponse(res(429, '', { 'x-ratelimit-reset': reset }), NOW),
    ).toMatchObject({ ok: false, retryAfterMs: 30_000, error: { category: 'retryable' } });
  });

  it.each([
    ['processed', { outcome: 'pending', providerStatus: 'processed' }],
    ['delivered', { outcome: 'delivered' }],
    ['something_new', { outcome: 'pending', providerStatus: 'something_new' }],
    ['constructor', { outcome: 'pending', providerStatus: 'constructor' }],
  ])('maps activity status %s', (status, expected) => {
    const body = JSON.stringify({ messages: [{ msg_id: 'x.filterdrecv-1', status }] });
    expect(readSendgridActivity(body)).toEqual(expected);
  });

  it('maps not_delivered to a bounce and an empty list to pending', () => {
    expect(
      readSendgridActivity(JSON.stringify({ messages: [{ status: 'not_delivered' }] })),
    ).toEqual({
      outcome: 'bounced',
      error: {
        category: 'non_retryable',
        code: 'sendgrid_not_delivered',
        message: expect.any(String),
      },
    });
    expect(readSendgridActivity('{"messages":[]}')).toEqual({
      outcome: 'pending',
      providerStatus: 'not_indexed',
    });
    expect(readSendgridActivity('<html>')).toBeNull();
  });

  it('never throws', async () => {
    const provider = new SendgridProvider(sendgrid, 1000);
    await expect(provider.send(explodingRequest('email'))).resolves.toMatchObject({
      ok: false,
      error: { category: 'internal' },
      log: null,
    });
  });

  it('refuses content without a subject before calling', async () => {
    const provider = new SendgridProvider(sendgrid, 1000);
    await expect(provider.send(sendRequest({ content: { text: 'x' } }))).resolves.toEqual({
      ok: false,
      error: { category: 'non_retryable', code: 'invalid_content', message: expect.any(String) },
      log: null,
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Twilio

const twilio: TwilioSettings = {
  baseUrl: 'http://tw.test',
  accountSid: 'AC0123456789abcdef0123456789abcdef',
  authToken: 'twilio-auth-token-secret',
  from: '+15005550006',
};
const sms = sendRequest({ channel: 'sms', recipient: '+14155550123', content: { text: 'Hi' } });

describe('Twilio adapter (pure)', () => {
  it('builds the Messages.json form post with Basic auth', () => {
    const call = buildTwilioSend(twilio, sms);
    expect(call.url).toBe(`http://tw.test/2010-04-01/Accounts/${twilio.accountSid}/Messages.json`);
    const basic = Buffer.from(`${twilio.accountSid}:${twilio.authToken}`).toString('base64');
    expect(call.headers).toMatchObject({
      authorization: `Basic ${basic}`,
      'content-type': 'application/x-www-form-urlencoded',
      'idempotency-key': 'msg-0001',
      'user-agent': 'herald/1',
    });
    const form = new URLSearchParams(call.body ?? '');
    expect(Object.fromEntries(form)).toEqual({
      To: '+14155550123',
      From: '+15005550006',
      Body: 'Hi',
    });
  });

  it('sends through a Messaging Service when From is an MG sid', () => {
    const service = 'MG0123456789abcdef0123456789abcdef';
    const form = new URLSearchParams(buildTwilioSend({ ...twilio, from: service }, sms).body ?? '');
    expect(form.get('MessagingServiceSid')).toBe(service);
    expect(form.has('From')).toBe(false);
  });

  it('fetches a message by sid', () => {
    const call = buildTwilioStatusFetch(twilio, { messageId: 'm', providerMessageId: 'SMabc' });
    expect(call.method).toBe('GET');
    expect(call.url).toBe(
      `http://tw.test/2010-04-01/Accounts/${twilio.accountSid}/Messages/SMabc.json`,
    );
  });

  const twilioBody = (code: number) =>
    JSON.stringify({ code, message: `error ${code}`, more_info: '', status: 400 });

  it.each([
    [429, 20429],
    [500, 20500],
    [503, 20503],
    [400, 20429],
  ])('retries HTTP %i with code %i', (status, code) => {
    expect(classifyTwilioError(status, twilioBody(code))).toEqual({
      category: 'retryable',
      code: `twilio_${code}`,
      message: expect.stringContaining(`error ${code}`),
    });
  });

  it.each([
    [400, 21211],
    [400, 21610],
    [400, 21614],
    [401, 20003],
    [404, 20404],
  ])('does not retry HTTP %i with code %i', (status, code) => {
    expect(classifyTwilioError(status, twilioBody(code))).toMatchObject({
      category: 'non_retryable',
      code: `twilio_${code}`,
    });
  });

  it('falls back to http_<status> without a body code', () => {
    expect(classifyTwilioError(502, 'Bad gateway')).toMatchObject({
      category: 'retryable',
      code: 'http_502',
    });
    expect(classifyTwilioError(400, '')).toMatchObject({
      category: 'non_retryable',
      code: 'http_400',
    });
  });

  it('honours Retry-After', () => {
    expect(
      classifyTwilioResponse(res(429, twilioBody(20429), { 'retry-after': '7' }), NOW),
    ).toMatchObject({ ok: false, retryAfterMs: 7000 });
    expect(classifyTwilioResponse(res(201, {}))).toEqual({ ok: true });
  });

  it.each(['accepted', 'scheduled', 'queued', 'sending', 'sent', 'receiving'])(
    'reads %s as pending',
    (status) => {
      expect(twilioStatusReading(status)).toEqual({ outcome: 'pending', providerStatus: status });
    },
  );

  it.each(['delivered', 'read'])('reads %s as delivered', (status) => {
    expect(twilioStatusReading(status)).toEqual({ outcome: 'delivered' });
  });

  it('reads undelivered, failed and canceled with their reason', () => {
    expect(
      readTwilioMessage(
        JSON.stringify({
          status: 'undelivered',
          error_code: 30005,
          error_message: 'Unknown destination handset',
        }),
      ),
    ).toEqual({
      outcome: 'undelivered',
      error: {
        category: 'non_retryable',
        code: 'twilio_30005',
        message: 'Unknown destination handset',
      },
    });
    expect(twilioStatusReading('failed', 30008, 'Unknown error')).toEqual({
      outcome: 'bounced',
      error: { category: 'non_retryable', code: 'twilio_30008', message: 'Unknown error' },
    });
    expect(twilioStatusReading('canceled')).toMatchObject({
      outcome: 'undelivered',
      error: { code: 'twilio_canceled' },
    });
    expect(readTwilioMessage('{}')).toBeNull();
  });

  it('never throws', async () => {
    await expect(
      new TwilioProvider(twilio, 1000).send(explodingRequest('sms')),
    ).resolves.toMatchObject({ ok: false, error: { category: 'internal' }, log: null });
  });
});

// ---------------------------------------------------------------------------------------------
// Slack

const slack: SlackSettings = { baseUrl: 'http://slack.test', botToken: 'xoxb-secret-bot-token' };

describe('Slack adapter (pure)', () => {
  it('builds chat.postMessage', () => {
    const call = buildSlackPostMessage(
      slack,
      sendRequest({ channel: 'chat', recipient: 'C42', content: { text: 'Hi' } }),
    );
    expect(call.url).toBe('http://slack.test/api/chat.postMessage');
    expect(call.headers).toMatchObject({
      authorization: 'Bearer xoxb-secret-bot-token',
      'content-type': 'application/json; charset=utf-8',
      'idempotency-key': 'msg-0001',
      'user-agent': 'herald/1',
    });
    expect(JSON.parse(call.body ?? '')).toEqual({ channel: 'C42', text: 'Hi' });
  });

  it.each([
    'ratelimited',
    'rate_limited',
    'service_unavailable',
    'internal_error',
    'fatal_error',
    'request_timeout',
    'team_added_to_org',
  ])('retries %s', (error) => {
    expect(classifySlackError(error)).toEqual({
      category: 'retryable',
      code: `slack_${error}`,
      message: expect.stringContaining(error),
    });
  });

  it.each([
    'channel_not_found',
    'not_in_channel',
    'is_archived',
    'msg_too_long',
    'no_text',
    'too_many_attachments',
    'invalid_auth',
    'not_authed',
    'account_inactive',
    'token_revoked',
    'token_expired',
    'no_permission',
    'missing_scope',
    'not_allowed_token_type',
    'invalid_arguments',
    'invalid_arg_name',
    'invalid_blocks',
    'restricted_action',
    'ekm_access_denied',
    'access_denied',
    'user_not_found',
    'some_future_error',
    'constructor',
  ])('does not retry %s', (error) => {
    expect(classifySlackError(error)).toEqual({
      category: 'non_retryable',
      code: `slack_${error}`,
      message: expect.stringContaining(error),
    });
  });

  it('documents every error it names', () => {
    for (const entry of Object.values(SLACK_ERRORS)) expect(entry.description).not.toBe('');
  });

  it('reads ok:false from a 200', () => {
    expect(classifySlackResponse(res(200, { ok: true, ts: '1.2' }))).toEqual({ ok: true });
    expect(classifySlackResponse(res(200, { ok: false, error: 'channel_not_found' }))).toEqual({
      ok: false,
      error: {
        category: 'non_retryable',
        code: 'slack_channel_not_found',
        message: expect.any(String),
      },
    });
    expect(classifySlackResponse(res(200, 'not json'))).toMatchObject({
      ok: false,
      error: { category: 'retryable', code: 'slack_invalid_response' },
    });
  });

  it('retries 429 and 5xx, honouring Retry-After', () => {
    const limited = res(429, { ok: false, error: 'ratelimited' }, { 'retry-after': '30' });
    expect(classifySlackResponse(limited, NOW)).toEqual({
      ok: false,
      error: { category: 'retryable', code: 'slack_ratelimited', message: expect.any(String) },
      retryAfterMs: 30_000,
    });
    expect(classifySlackResponse(res(500, { ok: false, error: 'whatever' }))).toMatchObject({
      error: { category: 'retryable' },
    });
    // Without a Slack error the generic status classification decides.
    expect(classifySlackResponse(res(503, ''))).toBeNull();
  });

  it('never throws', async () => {
    await expect(
      new SlackProvider(slack, 1000).send(explodingRequest('chat')),
    ).resolves.toMatchObject({ ok: false, error: { category: 'internal' }, log: null });
  });
});

// ---------------------------------------------------------------------------------------------
// FCM

const fcmBody = (status: number, canonical: string, errorCode?: string) =>
  JSON.stringify({
    error: {
      code: status,
      message: `${canonical} happened`,
      status: canonical,
      details: errorCode
        ? [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }]
        : [],
    },
  });

describe('FCM adapter (pure)', () => {
  it.each([
    [503, 'UNAVAILABLE', 'UNAVAILABLE', 'retryable'],
    [500, 'INTERNAL', 'INTERNAL', 'retryable'],
    [429, 'RESOURCE_EXHAUSTED', 'QUOTA_EXCEEDED', 'retryable'],
    [404, 'NOT_FOUND', 'UNREGISTERED', 'non_retryable'],
    [400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'non_retryable'],
    [403, 'PERMISSION_DENIED', 'SENDER_ID_MISMATCH', 'non_retryable'],
    [401, 'UNAUTHENTICATED', 'THIRD_PARTY_AUTH_ERROR', 'non_retryable'],
    [500, 'INTERNAL', 'UNSPECIFIED_ERROR', 'non_retryable'],
  ])('%i %s / %s is %s', (status, canonical, errorCode, category) => {
    expect(classifyFcmError(status, fcmBody(status, canonical, errorCode))).toEqual({
      category,
      code: `fcm_${errorCode}`,
      message: expect.stringContaining(`${canonical} happened`),
    });
  });

  it('falls back to the canonical status, then to the HTTP status', () => {
    expect(classifyFcmError(503, fcmBody(503, 'UNAVAILABLE'))).toMatchObject({
      category: 'retryable',
      code: 'fcm_UNAVAILABLE',
    });
    expect(classifyFcmError(502, '<html>')).toMatchObject({
      category: 'retryable',
      code: 'http_502',
    });
    expect(classifyFcmError(409, '')).toMatchObject({
      category: 'non_retryable',
      code: 'http_409',
    });
  });

  it('retries a 401 that refuses the access token itself', () => {
    expect(classifyFcmError(401, fcmBody(401, 'UNAUTHENTICATED'))).toMatchObject({
      category: 'retryable',
      code: 'fcm_UNAUTHENTICATED',
    });
    expect(classifyFcmError(401, '')).toMatchObject({
      category: 'retryable',
      code: 'fcm_UNAUTHENTICATED',
    });
  });

  it('waits at least a minute after QUOTA_EXCEEDED and honours Retry-After otherwise', () => {
    const quota = fcmBody(429, 'RESOURCE_EXHAUSTED', 'QUOTA_EXCEEDED');
    expect(classifyFcmResponse(res(429, quota), NOW)).toMatchObject({ retryAfterMs: 60_000 });
    expect(classifyFcmResponse(res(429, quota, { 'retry-after': '10' }), NOW)).toMatchObject({
      retryAfterMs: 60_000,
    });
    expect(classifyFcmResponse(res(429, quota, { 'retry-after': '120' }), NOW)).toMatchObject({
      retryAfterMs: 120_000,
    });
    const unavailable = res(503, fcmBody(503, 'UNAVAILABLE', 'UNAVAILABLE'), {
      'retry-after': '5',
    });
    expect(classifyFcmResponse(unavailable, NOW)).toMatchObject({ retryAfterMs: 5_000 });
    expect(classifyFcmResponse(res(400, fcmBody(400, 'INVALID_ARGUMENT')), NOW)).not.toHaveProperty(
      'retryAfterMs',
    );
  });

  it('builds the v1 send with title/text as notification and the rest as data', () => {
    const settings = fcmSettings('http://fcm.test/', 'unused');
    const call = buildFcmSend(
      settings,
      sendRequest({
        channel: 'push',
        recipient: 'device-token-1',
        content: { title: 'T', text: 'B', orderId: '42' },
      }),
      'ya29.access',
    );
    expect(call.url).toBe('http://fcm.test/v1/projects/herald-test/messages:send');
    expect(call.headers).toMatchObject({
      authorization: 'Bearer ya29.access',
      'idempotency-key': 'msg-0001',
      'user-agent': 'herald/1',
    });
    expect(JSON.parse(call.body ?? '')).toEqual({
      message: {
        token: 'device-token-1',
        notification: { title: 'T', body: 'B' },
        data: { orderId: '42' },
      },
    });
    const bare = buildFcmSend(
      settings,
      sendRequest({ channel: 'push', recipient: 'device-token-1', content: { text: 'B' } }),
      'ya29.access',
    );
    expect(JSON.parse(bare.body ?? '')).toEqual({
      message: { token: 'device-token-1', notification: { body: 'B' } },
    });
  });

  it('classifies token endpoint errors', () => {
    const grant = JSON.stringify({ error: 'invalid_grant', error_description: 'Invalid JWT' });
    expect(classifyGoogleTokenError(400, grant)).toEqual({
      category: 'non_retryable',
      code: 'google_oauth_invalid_grant',
      message: expect.stringContaining('Invalid JWT'),
    });
    expect(classifyGoogleTokenError(503, '')).toMatchObject({
      category: 'retryable',
      code: 'http_503',
    });
    expect(readAccessToken('{"access_token":"t","expires_in":120}')).toEqual({
      token: 't',
      expiresInS: 120,
    });
    expect(readAccessToken('{"access_token":"t"}')).toEqual({ token: 't', expiresInS: 3600 });
    expect(readAccessToken('{}')).toBeNull();
  });

  it('never throws', async () => {
    const provider = new FcmProvider(fcmSettings('http://fcm.test', 'unused'), 1000);
    await expect(provider.send(explodingRequest('push'))).resolves.toMatchObject({
      ok: false,
      error: { category: 'internal' },
      log: null,
    });
  });
});

// ---------------------------------------------------------------------------------------------
// End to end against a throwaway HTTP server: headers on the wire, redaction, token caching.

interface Seen {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}
type Reply = { status: number; headers?: Record<string, string>; body?: unknown };

let server: Server;
let base: string;
let seen: Seen[] = [];
let handler: (request: Seen) => Reply = () => ({ status: 404 });

beforeAll(async () => {
  server = createServer((req, response) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      seen.push(request);
      const reply = handler(request);
      const body =
        reply.body === undefined
          ? ''
          : typeof reply.body === 'string'
            ? reply.body
            : JSON.stringify(reply.body);
      response.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      response.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen = [];
});

function fcmSettings(baseUrl: string, privateKey: string): FcmSettings {
  return {
    baseUrl,
    projectId: 'herald-test',
    clientEmail: 'herald@herald-test.iam.gserviceaccount.com',
    privateKey,
    tokenUri: `${baseUrl.replace(/\/$/, '')}/token`,
  };
}

describe('adapters on the wire', () => {
  it('SendGrid: sends, checks status and keeps the API key out of the log', async () => {
    handler = (request) =>
      request.method === 'POST'
        ? { status: 202, headers: { 'x-message-id': 'xid-1' } }
        : {
            status: 200,
            body: { messages: [{ msg_id: 'xid-1.filterdrecv', status: 'delivered' }] },
          };
    const provider = new SendgridProvider({ ...sendgrid, baseUrl: base }, 2000);
    const sent = await provider.send(sendRequest());
    expect(sent).toMatchObject({ ok: true, status: 'sent', providerMessageId: 'xid-1' });
    const checked = await provider.checkStatus({
      messageId: 'msg-0001',
      tenantId: 'tenant-a',
      channel: 'email',
      recipient: 'ada@example.test',
      providerMessageId: 'xid-1',
      attempt: 1,
    });
    expect(checked).toMatchObject({ ok: true, outcome: 'delivered' });
    expect(seen.map((r) => r.headers['idempotency-key'])).toEqual(['msg-0001', 'msg-0001']);
    expect(seen.every((r) => r.headers['user-agent'] === 'herald/1')).toBe(true);
    expect(JSON.stringify([sent, checked])).not.toContain(sendgrid.apiKey);
  });

  it('Twilio: a 400 21211 is final and the credentials stay out of the log', async () => {
    handler = () => ({
      status: 400,
      body: { code: 21211, message: "The 'To' number is not valid.", status: 400 },
    });
    const result = await new TwilioProvider({ ...twilio, baseUrl: base }, 2000).send(sms);
    expect(result).toMatchObject({
      ok: false,
      error: { category: 'non_retryable', code: 'twilio_21211' },
    });
    const basic = Buffer.from(`${twilio.accountSid}:${twilio.authToken}`).toString('base64');
    expect(seen[0]?.headers.authorization).toBe(`Basic ${basic}`);
    expect(JSON.stringify(result)).not.toContain(basic);
    expect(JSON.stringify(result)).not.toContain(twilio.authToken);
  });

  it('Slack: ok:true is delivered with ts as the id', async () => {
    handler = () => ({ status: 200, body: { ok: true, channel: 'C42', ts: '1700000000.000100' } });
    const result = await new SlackProvider({ ...slack, baseUrl: base }, 2000).send(
      sendRequest({ channel: 'chat', recipient: 'C42', content: { text: 'Hi' } }),
    );
    expect(result).toMatchObject({
      ok: true,
      status: 'delivered',
      providerMessageId: '1700000000.000100',
    });
    expect(JSON.stringify(result)).not.toContain(slack.botToken);
  });

  describe('FCM with a service-account token', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const push = sendRequest({
      channel: 'push',
      recipient: 'device-token-1',
      content: { title: 'T', text: 'B' },
    });
    let issued = 0;
    let sendReply: Reply;

    beforeEach(() => {
      issued = 0;
      sendReply = { status: 200, body: { name: 'projects/herald-test/messages/1' } };
      handler = (request) => {
        if (request.path === '/token') {
          issued += 1;
          return {
            status: 200,
            body: { access_token: `ya29.token-${issued}`, expires_in: 3599, token_type: 'Bearer' },
          };
        }
        return sendReply;
      };
    });

    it('signs a JWT assertion, sends with the token and reuses it', async () => {
      const provider = new FcmProvider(fcmSettings(base, privateKey), 2000);
      const first = await provider.send(push);
      const second = await provider.send({ ...push, messageId: 'msg-0002' });

      expect(first).toMatchObject({
        ok: true,
        status: 'sent',
        providerMessageId: 'projects/herald-test/messages/1',
      });
      expect(second).toMatchObject({ ok: true });
      expect(issued).toBe(1);
      expect(seen.map((r) => r.path)).toEqual([
        '/token',
        '/v1/projects/herald-test/messages:send',
        '/v1/projects/herald-test/messages:send',
      ]);

      const form = new URLSearchParams(seen[0]?.body);
      expect(form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
      const assertion = form.get('assertion') ?? '';
      expect(decodeProtectedHeader(assertion).alg).toBe('RS256');
      const { payload } = await jwtVerify(assertion, await importSPKI(publicKey, 'RS256'), {
        issuer: 'herald@herald-test.iam.gserviceaccount.com',
        audience: `${base}/token`,
      });
      expect(payload.scope).toBe(FCM_SCOPE);
      expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(3600);

      expect(seen[1]?.headers.authorization).toBe('Bearer ya29.token-1');
      expect(seen[1]?.headers['idempotency-key']).toBe('msg-0001');
      expect(seen[2]?.headers['idempotency-key']).toBe('msg-0002');
      expect(JSON.stringify(first)).not.toContain('ya29.token-1');
    });

    it('shares one token request between concurrent sends', async () => {
      const provider = new FcmProvider(fcmSettings(base, privateKey), 2000);
      const results = await Promise.all(
        [1, 2, 3, 4].map((n) => provider.send({ ...push, messageId: `msg-${n}` })),
      );
      expect(results.every((r) => r.ok)).toBe(true);
      expect(issued).toBe(1);
    });

    it('drops a token FCM refuses with 401 and retries', async () => {
      const provider = new FcmProvider(fcmSettings(base, privateKey), 2000);
      sendReply = { status: 401, body: fcmBody(401, 'UNAUTHENTICATED') };
      const refused = await provider.send(push);
      expect(refused).toMatchObject({
        ok: false,
        error: { category: 'retryable', code: 'fcm_UNAUTHENTICATED' },
      });
      expect(JSON.stringify(refused)).not.toContain('ya29.token-1');

      sendReply = { status: 200, body: { name: 'projects/herald-test/messages/2' } };
      await expect(provider.send(push)).resolves.toMatchObject({ ok: true });
      expect(issued).toBe(2);
      expect(seen.at(-1)?.headers.authorization).toBe('Bearer ya29.token-2');
    });

    it('reports a refused token request without calling FCM', async () => {
      handler = () => ({
        status: 400,
        body: { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' },
      });
      const result = await new FcmProvider(fcmSettings(base, privateKey), 2000).send(push);
      expect(result).toMatchObject({
        ok: false,
        error: { category: 'non_retryable', code: 'google_oauth_invalid_grant' },
        log: { response: { status: 400 } },
      });
      expect(seen).toHaveLength(1);
      expect(JSON.stringify(result)).not.toContain(privateKey.slice(40, 80));
    });

    it('refetches the token five minutes before it expires', async () => {
      let now = NOW;
      const tokens = new GoogleAccessTokens(
        fcmSettings(base, privateKey),
        FCM_SCOPE,
        2000,
        () => now,
      );
      await expect(tokens.get('m1')).resolves.toEqual({ ok: true, token: 'ya29.token-1' });
      now = NOW + 3599_000 - TOKEN_REFRESH_MARGIN_MS - 1;
      await expect(tokens.get('m2')).resolves.toEqual({ ok: true, token: 'ya29.token-1' });
      now += 1;
      await expect(tokens.get('m3')).resolves.toEqual({ ok: true, token: 'ya29.token-2' });
    });

    it('reports an unusable private key as final', async () => {
      const result = await new FcmProvider(fcmSettings(base, 'not a key'), 2000).send(push);
      expect(result).toMatchObject({
        ok: false,
        error: { category: 'non_retryable', code: 'google_oauth_invalid_key' },
        log: null,
      });
      expect(seen).toHaveLength(0);
    });
  });
});
