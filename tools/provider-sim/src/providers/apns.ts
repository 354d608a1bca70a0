import { randomUUID } from 'node:crypto';
import {
  type ErrorDetail,
  type ProviderRequest,
  type ProviderRoute,
  type RequestInput,
  type SimResponse,
} from '../route';
import { bearerToken, decodeJwt, decodeSegment, header } from './shared';

/**
 * APNs `POST /3/device/{token}`, served on the simulator's HTTP/2 cleartext (h2c) port. Success
 * is 200 with an `apns-id` header and no body; errors are `{reason}` (410 adds `timestamp`).
 */

/** reason -> status, for `error-<reason>-<n>`; from Apple's "Handling notification responses". */
export const APNS_REASONS: Readonly<Record<string, number>> = {
  BadCollapseId: 400,
  BadDeviceToken: 400,
  BadExpirationDate: 400,
  BadMessageId: 400,
  BadPriority: 400,
  BadTopic: 400,
  DeviceTokenNotForTopic: 400,
  DuplicateHeaders: 400,
  IdleTimeout: 400,
  InvalidPushType: 400,
  MissingDeviceToken: 400,
  MissingTopic: 400,
  PayloadEmpty: 400,
  TopicDisallowed: 400,
  BadCertificate: 403,
  BadCertificateEnvironment: 403,
  ExpiredProviderToken: 403,
  Forbidden: 403,
  InvalidProviderToken: 403,
  MissingProviderToken: 403,
  BadPath: 404,
  MethodNotAllowed: 405,
  ExpiredToken: 410,
  Unregistered: 410,
  PayloadTooLarge: 413,
  TooManyProviderTokenUpdates: 429,
  TooManyRequests: 429,
  InternalServerError: 500,
  ServiceUnavailable: 503,
  Shutdown: 503,
};

/** The reason a scripted `fail-<status>` carries. */
export const APNS_REASON_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'BadDeviceToken',
  403: 'InvalidProviderToken',
  404: 'BadPath',
  405: 'MethodNotAllowed',
  410: 'Unregistered',
  413: 'PayloadTooLarge',
  429: 'TooManyRequests',
  500: 'InternalServerError',
  503: 'ServiceUnavailable',
};

export const MAX_PAYLOAD_BYTES = 4096;
// Apple refuses provider tokens older than an hour.
const PROVIDER_TOKEN_MAX_AGE_SECONDS = 3600;
const PUSH_TYPES = new Set([
  'alert',
  'background',
  'location',
  'voip',
  'complication',
  'fileprovider',
  'mdm',
  'liveactivity',
  'pushtotalk',
]);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The apns-id an answer carries: the client's, or one APNs made up. */
function apnsIdOf(request: RequestInput | undefined): string {
  const given = request ? header(request.headers, 'apns-id') : undefined;
  return given !== undefined && UUID.test(given) ? given : randomUUID();
}

export function apnsError(reason: string, status: number, request?: RequestInput): SimResponse {
  const body: Record<string, unknown> = { reason };
  // For 410, the last time APNs knew the token was valid.
  if (status === 410) body.timestamp = Date.now();
  return { status, headers: { 'apns-id': apnsIdOf(request) }, body };
}

function scriptedError(
  status: number,
  detail: ErrorDetail,
  request?: ProviderRequest,
): SimResponse {
  const reason =
    detail.scripted || status === 405
      ? (APNS_REASON_BY_STATUS[status] ?? (status >= 500 ? 'InternalServerError' : 'BadRequest'))
      : detail.message;
  return apnsError(reason, status, request);
}

/**
 * The provider-token problem APNs would report, if any: a JWT whose header names ES256 and a
 * key id and whose claims carry the team id and a recent iat. Signatures are not checked.
 */
export function providerTokenProblem(
  authorization: string | undefined,
  nowMs: number,
): string | undefined {
  if (authorization === undefined) return 'MissingProviderToken';
  const jwt = decodeJwt(authorization);
  if (!jwt) return 'InvalidProviderToken';
  const { header: head, payload } = jwt;
  if (head.alg !== 'ES256' || typeof head.kid !== 'string' || typeof payload.iss !== 'string') {
    return 'InvalidProviderToken';
  }
  if (typeof payload.iat !== 'number') return 'InvalidProviderToken';
  if (payload.iat < nowMs / 1000 - PROVIDER_TOKEN_MAX_AGE_SECONDS) return 'ExpiredProviderToken';
  return undefined;
}

/** The header or payload problem APNs would report for an otherwise authorised request. */
function requestProblem(request: ProviderRequest): string | undefined {
  if (request.recipient === undefined) return 'MissingDeviceToken';
  // An empty header is as good as none to APNs.
  if (!header(request.headers, 'apns-topic')) return 'MissingTopic';
  const pushType = header(request.headers, 'apns-push-type');
  if (pushType !== undefined && !PUSH_TYPES.has(pushType)) return 'InvalidPushType';
  const priority = header(request.headers, 'apns-priority');
  if (priority !== undefined && !['1', '5', '10'].includes(priority)) return 'BadPriority';
  const id = header(request.headers, 'apns-id');
  if (id !== undefined && !UUID.test(id)) return 'BadMessageId';
  if (request.bodyBytes === 0) return 'PayloadEmpty';
  if (request.bodyBytes > MAX_PAYLOAD_BYTES) return 'PayloadTooLarge';
  return undefined;
}

const DEVICE_PATH = /^\/3\/device\/([^/]+)$/;

export const apnsRoute: ProviderRoute = {
  name: 'apns.send',
  methods: ['POST'],
  match: (path) => (DEVICE_PATH.test(path) ? { script: undefined } : undefined),
  recipientOf: (request) => decodeSegment(DEVICE_PATH.exec(request.path)?.[1]),
  authorize: (request) => {
    const reason = providerTokenProblem(bearerToken(request.headers), request.receivedAt);
    return reason === undefined ? undefined : apnsError(reason, 403, request);
  },
  success: (request) => {
    const reason = requestProblem(request);
    if (reason !== undefined) return apnsError(reason, APNS_REASONS[reason] ?? 400, request);
    return { status: 200, headers: { 'apns-id': apnsIdOf(request) } };
  },
  error: scriptedError,
  namedError: (reason, request) => apnsError(reason, APNS_REASONS[reason] ?? 400, request),
};
