import { MessageStore } from '../../tools/provider-sim/src/engine/message-store';
import {
  APNS_REASON_BY_STATUS,
  APNS_REASONS,
  providerTokenProblem,
} from '../../tools/provider-sim/src/providers/apns';
import {
  FCM_CODE_BY_STATUS,
  FCM_ERRORS,
  JWT_BEARER_GRANT,
  tokenRequestProblem,
} from '../../tools/provider-sim/src/providers/fcm';
import {
  messageIdOfQuery,
  SENDGRID_STATUS,
  sendgridMessageId,
} from '../../tools/provider-sim/src/providers/sendgrid';
import { basicAuth, bearerToken, decodeJwt } from '../../tools/provider-sim/src/providers/shared';
import {
  TWILIO_CODE_BY_STATUS,
  TWILIO_CODES,
  TWILIO_STATUS,
} from '../../tools/provider-sim/src/providers/twilio';
import { messageHeaders, smtpReplyFor } from '../../tools/provider-sim/src/providers/smtp';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const jwt = (header: unknown, payload: unknown): string => `${b64(header)}.${b64(payload)}.c2ln`;

describe('provider helpers', () => {
  it('reads Bearer and Basic credentials', () => {
    expect(bearerToken({ authorization: 'Bearer abc.def' })).toBe('abc.def');
    expect(bearerToken({ authorization: 'bearer x' })).toBe('x');
    expect(bearerToken({ authorization: 'Basic x' })).toBeUndefined();
    expect(bearerToken({})).toBeUndefined();
    const basic = `Basic ${Buffer.from('AC1:secret:with:colons').toString('base64')}`;
    expect(basicAuth({ authorization: basic })).toEqual({
      user: 'AC1',
      password: 'secret:with:colons',
    });
    expect(basicAuth({ authorization: 'Basic !!' })).toBeUndefined();
  });

  it('decodes a JWT without verifying it, and refuses what is not one', () => {
    expect(decodeJwt(jwt({ alg: 'RS256' }, { iss: 'a' }))).toEqual({
      header: { alg: 'RS256' },
      payload: { iss: 'a' },
    });
    expect(decodeJwt('a.b')).toBeUndefined();
    expect(decodeJwt('a.b.c')).toBeUndefined();
    expect(decodeJwt(`${b64([1])}.${b64({})}.x`)).toBeUndefined();
  });
});

describe('SendGrid', () => {
  it('makes 22-character URL-safe ids', () => {
    const id = sendgridMessageId();
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(sendgridMessageId()).not.toBe(id);
  });

  it.each([
    ['msg_id LIKE "abc123%"', 'abc123'],
    ['msg_id like "abc123%"', 'abc123'],
    ['msg_id="abc123"', 'abc123'],
    ["msg_id = 'abc123'", 'abc123'],
    ['msg_id LIKE "abc123.filterdrecv-1.0%"', 'abc123'],
    ['status="delivered" AND msg_id LIKE "x_y-z%"', 'x_y-z'],
  ])('finds the id in %s', (query, id) => {
    expect(messageIdOfQuery(query)).toBe(id);
  });

  it.each([null, '', 'to_email="a@b.c"', 'msg_id LIKE "%"'])('finds no id in %p', (query) => {
    expect(messageIdOfQuery(query)).toBeUndefined();
  });

  it('reports processed, then delivered or not_delivered', () => {
    expect(SENDGRID_STATUS).toEqual({
      pending: 'processed',
      delivered: 'delivered',
      undelivered: 'not_delivered',
      failed: 'not_delivered',
    });
  });
});

describe('Twilio', () => {
  it('gives every canonical code a known status', () => {
    for (const [status, code] of Object.entries(TWILIO_CODE_BY_STATUS)) {
      expect(TWILIO_CODES[code]?.status).toBe(Number(status));
    }
    expect(TWILIO_CODE_BY_STATUS[400]).toBe(21211);
    expect(TWILIO_CODES[21610]?.status).toBe(400);
  });

  it('reports sent, then delivered, undelivered (30005) or failed (30008)', () => {
    expect(TWILIO_STATUS.pending.status).toBe('sent');
    expect(TWILIO_STATUS.delivered).toEqual({
      status: 'delivered',
      errorCode: null,
      errorMessage: null,
    });
    expect(TWILIO_STATUS.undelivered).toMatchObject({ status: 'undelivered', errorCode: 30005 });
    expect(TWILIO_STATUS.failed).toMatchObject({ status: 'failed', errorCode: 30008 });
  });
});

describe('FCM and the token endpoint', () => {
  it('maps statuses to errorCodes whose canonical status agrees', () => {
    for (const [status, code] of Object.entries(FCM_CODE_BY_STATUS)) {
      expect(FCM_ERRORS[code]?.status).toBe(Number(status));
    }
    expect(FCM_ERRORS.UNAVAILABLE).toMatchObject({ status: 503, canonical: 'UNAVAILABLE' });
    expect(FCM_ERRORS.UNREGISTERED).toMatchObject({ status: 404, canonical: 'NOT_FOUND' });
    expect(FCM_ERRORS.QUOTA_EXCEEDED).toMatchObject({
      status: 429,
      canonical: 'RESOURCE_EXHAUSTED',
    });
  });

  const now = 1_700_000_000_000;
  const claims = {
    iss: 'sa@sim.iam.gserviceaccount.com',
    scope: 'https://www.googleapis.com/auth/firebase.messaging',
    aud: 'http://127.0.0.1/token',
    iat: now / 1000,
    exp: now / 1000 + 3600,
  };
  const form = (fields: Record<string, string>): URLSearchParams => new URLSearchParams(fields);

  it('accepts a jwt-bearer grant with iss, scope and aud', () => {
    const assertion = jwt({ alg: 'RS256', typ: 'JWT' }, claims);
    expect(tokenRequestProblem(form({ grant_type: JWT_BEARER_GRANT, assertion }), now)).toBe(
      undefined,
    );
  });

  it.each<[string, Record<string, string>, string]>([
    ['another grant', { grant_type: 'client_credentials' }, 'Invalid grant_type'],
    ['no assertion', { grant_type: JWT_BEARER_GRANT }, 'must be a JWT'],
    ['a non-JWT', { grant_type: JWT_BEARER_GRANT, assertion: 'abc' }, 'must be a JWT'],
    [
      'a JWT without scope',
      { grant_type: JWT_BEARER_GRANT, assertion: jwt({}, { ...claims, scope: undefined }) },
      'missing claim scope',
    ],
    [
      'an expired JWT',
      { grant_type: JWT_BEARER_GRANT, assertion: jwt({}, { ...claims, exp: now / 1000 - 1 }) },
      'short-lived',
    ],
  ])('refuses %s', (_what, fields, problem) => {
    expect(tokenRequestProblem(form(fields), now)).toContain(problem);
  });
});

describe('APNs', () => {
  const now = 1_700_000_000_000;
  const token = (header: unknown, payload: unknown): string => jwt(header, payload);

  it('maps statuses to reasons of that status', () => {
    for (const [status, reason] of Object.entries(APNS_REASON_BY_STATUS)) {
      expect(APNS_REASONS[reason]).toBe(Number(status));
    }
    expect(APNS_REASON_BY_STATUS[410]).toBe('Unregistered');
  });

  it('checks provider tokens like APNs: present, ES256 with a key id, recent iat', () => {
    const good = { alg: 'ES256', kid: 'KEY123' };
    expect(providerTokenProblem(token(good, { iss: 'TEAM', iat: now / 1000 }), now)).toBe(
      undefined,
    );
    expect(providerTokenProblem(undefined, now)).toBe('MissingProviderToken');
    expect(providerTokenProblem('nope', now)).toBe('InvalidProviderToken');
    expect(providerTokenProblem(token({ alg: 'RS256', kid: 'K' }, { iss: 'T', iat: 1 }), now)).toBe(
      'InvalidProviderToken',
    );
    expect(providerTokenProblem(token(good, { iss: 'TEAM' }), now)).toBe('InvalidProviderToken');
    expect(providerTokenProblem(token(good, { iss: 'TEAM', iat: now / 1000 - 3601 }), now)).toBe(
      'ExpiredProviderToken',
    );
  });
});

describe('SMTP', () => {
  it.each<[Parameters<typeof smtpReplyFor>[0], number, string]>([
    [{ action: 'error', status: 451 }, 451, '4.3.0'],
    [{ action: 'error', status: 550 }, 550, '5.1.1'],
    [{ action: 'error', status: 503 }, 503, '5.0.0'],
    [{ action: 'error', status: 200 }, 451, '4.3.0'],
    [{ action: 'error', status: 429, retryAfterSeconds: 30 }, 450, 'try again in 30 seconds'],
    [{ action: 'named-error', code: '552' }, 552, '5.2.2'],
    [{ action: 'named-error', code: 'mailbox_gone' }, 550, 'mailbox_gone'],
  ])('answers %p with %i', (decision, code, text) => {
    const reply = smtpReplyFor(decision);
    expect(reply?.code).toBe(code);
    expect(reply?.message).toContain(text);
  });

  it('has no reply for successes, resets and hangs', () => {
    expect(smtpReplyFor({ action: 'succeed' })).toBeUndefined();
    expect(smtpReplyFor({ action: 'reset' })).toBeUndefined();
  });

  it('reads header fields, unfolding continuation lines', () => {
    const raw =
      'Subject: Hello\r\n  world\r\nX-Sim-Script: fail-451-1\r\nTo: a@b.c\r\n\r\nbody\r\n\r\nmore';
    expect(messageHeaders(raw)).toEqual({
      headers: { subject: 'Hello world', 'x-sim-script': 'fail-451-1', to: 'a@b.c' },
      body: 'body\r\n\r\nmore',
    });
  });
});

describe('MessageStore', () => {
  it('forgets the oldest message beyond its capacity', () => {
    const store = new MessageStore(2);
    const message = {
      recipient: 'r',
      acceptedAt: 0,
      status: { name: 'pending', script: { kind: 'pending' as const } },
      fields: {},
    };
    store.remember('a', message);
    store.remember('b', message);
    store.remember('c', message);
    expect(store.get('a')).toBeUndefined();
    expect(store.get('c')).toBe(message);
    expect(store.size).toBe(2);
  });
});
