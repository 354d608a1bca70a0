import { createHash } from 'node:crypto';
import { SignJWT, importPKCS8 } from 'jose';
import type { ApnsSettings } from '@herald/config';
import {
  RETRYABLE_HTTP_STATUSES,
  classifyHttpResponse,
  httpStatusText,
  parseRetryAfter,
  type HttpClassification,
} from '@herald/error-classification';
import type { DeliveryError } from '@herald/messages';
import type { HttpCall, HttpResponse } from './http-call';
import { Http2Sessions, callHttp2 } from './http2-call';
import type { ProviderAdapter, SendRequest, SendResult } from '@herald/decisions';
import { internalFailure, invalidContent } from './adapter-support';

interface ApnsReason {
  status: number;
  retryable: boolean;
  meaning: string;
}

/**
 * Apple's documented error reasons ("Handling notification responses from APNs"). Retryable
 * are the ones a later attempt can get past: rate limits, server trouble, a provider token that
 * expired (a fresh one is signed) and a connection dropped for idleness (a new one is dialled).
 */
export const APNS_REASONS: Readonly<Record<string, ApnsReason>> = {
  BadCollapseId: { status: 400, retryable: false, meaning: 'apns-collapse-id is too long' },
  BadDeviceToken: { status: 400, retryable: false, meaning: 'invalid device token' },
  BadExpirationDate: { status: 400, retryable: false, meaning: 'invalid apns-expiration' },
  BadMessageId: { status: 400, retryable: false, meaning: 'invalid apns-id' },
  BadPriority: { status: 400, retryable: false, meaning: 'invalid apns-priority' },
  BadTopic: { status: 400, retryable: false, meaning: 'invalid apns-topic' },
  DeviceTokenNotForTopic: { status: 400, retryable: false, meaning: 'token is for another topic' },
  DuplicateHeaders: { status: 400, retryable: false, meaning: 'a header was repeated' },
  IdleTimeout: { status: 400, retryable: true, meaning: 'connection closed for idleness' },
  InvalidPushType: { status: 400, retryable: false, meaning: 'invalid apns-push-type' },
  MissingDeviceToken: { status: 400, retryable: false, meaning: 'no device token in the path' },
  MissingTopic: { status: 400, retryable: false, meaning: 'apns-topic is required' },
  PayloadEmpty: { status: 400, retryable: false, meaning: 'empty payload' },
  TopicDisallowed: { status: 400, retryable: false, meaning: 'pushing to this topic is refused' },
  BadCertificate: { status: 403, retryable: false, meaning: 'bad certificate' },
  BadCertificateEnvironment: {
    status: 403,
    retryable: false,
    meaning: 'certificate for the other environment',
  },
  ExpiredProviderToken: { status: 403, retryable: true, meaning: 'provider token expired' },
  Forbidden: { status: 403, retryable: false, meaning: 'action not allowed' },
  InvalidProviderToken: { status: 403, retryable: false, meaning: 'provider token not valid' },
  MissingProviderToken: { status: 403, retryable: false, meaning: 'no provider token' },
  UnrelatedKeyIdInToken: {
    status: 403,
    retryable: false,
    meaning: 'key id unrelated to the connection',
  },
  BadEnvironmentKeyIdInToken: {
    status: 403,
    retryable: false,
    meaning: 'key for the other environment',
  },
  BadPath: { status: 404, retryable: false, meaning: 'invalid request path' },
  MethodNotAllowed: { status: 405, retryable: false, meaning: 'only POST is supported' },
  ExpiredToken: { status: 410, retryable: false, meaning: 'device token has expired' },
  Unregistered: { status: 410, retryable: false, meaning: 'device token no longer active' },
  PayloadTooLarge: { status: 413, retryable: false, meaning: 'payload too large' },
  TooManyProviderTokenUpdates: {
    status: 429,
    retryable: true,
    meaning: 'provider token updated too often',
  },
  TooManyRequests: {
    status: 429,
    retryable: true,
    meaning: 'too many requests for this device token',
  },
  InternalServerError: { status: 500, retryable: true, meaning: 'APNs internal error' },
  ServiceUnavailable: { status: 503, retryable: true, meaning: 'APNs unavailable' },
  Shutdown: { status: 503, retryable: true, meaning: 'APNs server shutting down' },
};

/** Apple rejects a token older than an hour and one refreshed more than once per 20 minutes. */
export const APNS_TOKEN_TTL_MS = 50 * 60 * 1000;

/**
 * Reads APNs' `{reason}` body. A documented reason decides by the table above; an unknown
 * reason (Apple adds some now and then) falls back to its HTTP status.
 */
export function classifyApnsResponse(response: HttpResponse): HttpClassification {
  const { status, headers } = response;
  if (status >= 200 && status <= 299) return { ok: true };
  const reason = reasonOf(response.body);
  if (reason === null) return classifyHttpResponse(status, headers, { now: Date.now() });

  // hasOwn: a reason such as "constructor" must not find Object.prototype's.
  const known = Object.hasOwn(APNS_REASONS, reason) ? APNS_REASONS[reason] : undefined;
  const retryable = known ? known.retryable : RETRYABLE_HTTP_STATUSES.includes(status);
  const meaning = known ? ` (${known.meaning})` : '';
  const error: DeliveryError = {
    category: retryable ? 'retryable' : 'non_retryable',
    code: `apns_${reason}`,
    message: `${httpStatusText(status)}: ${reason}${meaning}`,
  };
  const retryAfterMs = parseRetryAfter(headers['retry-after'], Date.now());
  return retryAfterMs === undefined ? { ok: false, error } : { ok: false, error, retryAfterMs };
}

function reasonOf(body: string): string | null {
  try {
    const reason: unknown = (JSON.parse(body) as { reason?: unknown } | null)?.reason;
    // Only a plain identifier becomes part of an error code.
    return typeof reason === 'string' && /^[A-Za-z]{1,64}$/.test(reason) ? reason : null;
  } catch {
    return null;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A fixed namespace, so every Herald instance derives the same apns-id for a messageId. */
export const HERALD_APNS_ID_NAMESPACE = '1b975247-223c-44d0-9fb1-d9c542b297a4';

/**
 * APNs wants a UUID as apns-id. A messageId that is one is used as it is; any other is mapped
 * to a name-based (version 5) UUID, so every retry of the message carries the same apns-id.
 */
export function apnsIdFor(messageId: string): string {
  return UUID.test(messageId) ? messageId : uuidV5(messageId, HERALD_APNS_ID_NAMESPACE);
}

/** RFC 9562 §5.5: SHA-1 over namespace and name, with the version and variant bits set. */
export function uuidV5(name: string, namespace: string): string {
  const hash = createHash('sha1')
    .update(Buffer.from(namespace.replace(/-/g, ''), 'hex'))
    .update(name, 'utf8')
    .digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Why the content cannot make an alert, or null. */
export function apnsContentProblem(content: Record<string, string>): string | null {
  if (!content.text) return 'push content needs text (the alert body)';
  if ('aps' in content) return "content key 'aps' is reserved for the APNs alert";
  return null;
}

/** The alert request: title and text make the alert, every other content key is custom data. */
export function buildApnsCall(settings: ApnsSettings, request: SendRequest, jwt: string): HttpCall {
  const { title, text, ...data } = request.content;
  const alert = title === undefined ? { body: text } : { title, body: text };
  return {
    method: 'POST',
    url: `${settings.baseUrl.replace(/\/+$/, '')}/3/device/${encodeURIComponent(request.recipient)}`,
    headers: {
      authorization: `bearer ${jwt}`,
      'apns-topic': settings.topic,
      'apns-push-type': 'alert',
      'apns-priority': '10',
      'apns-id': apnsIdFor(request.messageId),
      'content-type': 'application/json',
    },
    body: JSON.stringify({ aps: { alert }, ...data }),
  };
}

interface ProviderToken {
  jwt: Promise<string>;
  issuedAt: number;
}

/** Apple Push Notification service over HTTP/2, authenticated with an ES256 provider token. */
export class ApnsProvider implements ProviderAdapter {
  readonly name = 'apns';
  readonly channels = ['push'] as const;

  private readonly sessions = new Http2Sessions();
  private token: ProviderToken | null = null;

  constructor(
    private readonly settings: ApnsSettings,
    private readonly timeoutMs: number,
    /** Injectable so that token expiry can be tested without waiting 50 minutes. */
    private readonly now: () => number = Date.now,
  ) {}

  async send(request: SendRequest): Promise<SendResult> {
    try {
      const problem = apnsContentProblem(request.content);
      if (problem !== null) return invalidContent(problem);
      const token = this.providerToken();
      const jwt = await token.jwt;
      const call = buildApnsCall(this.settings, request, jwt);
      const outcome = await callHttp2(this.sessions, call, {
        timeoutMs: this.timeoutMs,
        secrets: [this.settings.privateKey, jwt],
        classify: classifyApnsResponse,
      });
      if (!outcome.ok) {
        if (outcome.error.code === 'apns_ExpiredProviderToken') this.dropToken(token);
        return outcome;
      }
      const apnsId = outcome.headers['apns-id'] ?? call.headers['apns-id'] ?? null;
      return { ok: true, status: 'sent', providerMessageId: apnsId, log: outcome.log };
    } catch (error) {
      // Signing failed (a bad key) or a bug: no request was made.
      return internalFailure(error, [this.settings.privateKey]);
    }
  }

  async close(): Promise<void> {
    await this.sessions.close();
  }

  /** Shared by concurrent sends, so a burst signs one token rather than one each. */
  private providerToken(): ProviderToken {
    const now = this.now();
    if (this.token && now - this.token.issuedAt < APNS_TOKEN_TTL_MS) return this.token;
    const token: ProviderToken = { jwt: this.sign(now), issuedAt: now };
    // A failed signing must not be served from the cache for 50 minutes.
    token.jwt.catch(() => this.dropToken(token));
    this.token = token;
    return token;
  }

  private dropToken(token: ProviderToken): void {
    if (this.token === token) this.token = null;
  }

  private async sign(now: number): Promise<string> {
    const key = await importPKCS8(this.settings.privateKey, 'ES256');
    return new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: this.settings.keyId })
      .setIssuer(this.settings.teamId)
      .setIssuedAt(Math.floor(now / 1000))
      .sign(key);
  }
}
