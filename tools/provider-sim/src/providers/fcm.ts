import { type ErrorDetail, type ProviderRoute, type SimResponse } from '../route';
import { at, bearerToken, decodeJwt, decodeSegment, randomHex32, text } from './shared';

/**
 * FCM HTTP v1 `POST /v1/projects/{p}/messages:send` and the Google OAuth token endpoint
 * `POST /token` that issues the access tokens it accepts. Errors are Google API errors
 * `{error:{code, message, status, details:[{@type: FcmError, errorCode}]}}`.
 */

interface FcmCode {
  status: number;
  canonical: string;
  message: string;
}

/** errorCode -> HTTP status and Google canonical status, for `error-<errorCode>-<n>`. */
export const FCM_ERRORS: Readonly<Record<string, FcmCode>> = {
  INVALID_ARGUMENT: {
    status: 400,
    canonical: 'INVALID_ARGUMENT',
    message: 'Request contains an invalid argument.',
  },
  THIRD_PARTY_AUTH_ERROR: {
    status: 401,
    canonical: 'UNAUTHENTICATED',
    message:
      'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
  },
  SENDER_ID_MISMATCH: {
    status: 403,
    canonical: 'PERMISSION_DENIED',
    message: 'SenderId mismatch',
  },
  UNREGISTERED: {
    status: 404,
    canonical: 'NOT_FOUND',
    message: 'Requested entity was not found.',
  },
  QUOTA_EXCEEDED: {
    status: 429,
    canonical: 'RESOURCE_EXHAUSTED',
    message: 'Quota exceeded for quota metric of service firebasecloudmessaging.googleapis.com.',
  },
  INTERNAL: { status: 500, canonical: 'INTERNAL', message: 'Internal error encountered.' },
  UNAVAILABLE: {
    status: 503,
    canonical: 'UNAVAILABLE',
    message: 'The service is currently unavailable.',
  },
  UNSPECIFIED_ERROR: { status: 500, canonical: 'UNKNOWN', message: 'Unknown error.' },
};

/** The errorCode a scripted `fail-<status>` carries. */
export const FCM_CODE_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'THIRD_PARTY_AUTH_ERROR',
  403: 'SENDER_ID_MISMATCH',
  404: 'UNREGISTERED',
  429: 'QUOTA_EXCEEDED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

export function fcmError(status: number, canonical: string, message: string, errorCode?: string) {
  return {
    status,
    body: {
      error: {
        code: status,
        message,
        status: canonical,
        details:
          errorCode === undefined
            ? []
            : [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }],
      },
    },
  } satisfies SimResponse;
}

function fcmCodeError(errorCode: string): SimResponse {
  const known = FCM_ERRORS[errorCode] ?? { ...FCM_ERRORS.INVALID_ARGUMENT!, message: errorCode };
  return fcmError(known.status, known.canonical, known.message, errorCode);
}

function scriptedError(status: number, detail: ErrorDetail): SimResponse {
  const errorCode = FCM_CODE_BY_STATUS[status];
  if (detail.scripted && errorCode !== undefined) return fcmCodeError(errorCode);
  const canonical = status >= 500 ? 'UNKNOWN' : 'FAILED_PRECONDITION';
  return fcmError(status, canonical, detail.scripted ? `simulated ${status}` : detail.message);
}

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const ACCESS_TOKEN_LIFETIME_SECONDS = 3599;
// Bounded: a benchmark that never caches tokens must not grow the set forever.
const MAX_ISSUED_TOKENS = 100_000;

export function oauthError(status: number, error: string, description: string) {
  return { status, body: { error, error_description: description } } satisfies SimResponse;
}

const OAUTH_ERROR_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'invalid_grant',
  401: 'invalid_client',
  403: 'access_denied',
  429: 'rate_limit_exceeded',
};

function tokenScriptedError(status: number, detail: ErrorDetail): SimResponse {
  const error =
    OAUTH_ERROR_BY_STATUS[status] ?? (status >= 500 ? 'internal_failure' : 'invalid_request');
  return oauthError(status, error, detail.scripted ? `simulated ${status}` : detail.message);
}

/**
 * Checks a token request the way Google does for service accounts: the jwt-bearer grant and a
 * JWT assertion with iss, scope and aud. The signature is not checked (no keys here).
 */
export function tokenRequestProblem(form: URLSearchParams, nowMs: number): string | undefined {
  if (form.get('grant_type') !== JWT_BEARER_GRANT) {
    return `Invalid grant_type: ${form.get('grant_type') ?? ''}`;
  }
  const assertion = form.get('assertion');
  const jwt = assertion ? decodeJwt(assertion) : undefined;
  if (!jwt) return 'Invalid JWT: the assertion must be a JWT (header.payload.signature)';
  for (const claim of ['iss', 'scope', 'aud']) {
    if (text(jwt.payload[claim]) === undefined) return `Invalid JWT: missing claim ${claim}`;
  }
  const exp = jwt.payload.exp;
  if (typeof exp === 'number' && exp * 1000 < nowMs) {
    return 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.';
  }
  return undefined;
}

const SEND_PATH = /^\/v1\/projects\/([^/]+)\/messages(?::|%3A)send$/i;

function targetOf(message: unknown): string | undefined {
  return text(at(message, 'token')) ?? text(at(message, 'topic')) ?? text(at(message, 'condition'));
}

export function fcmRoutes(): ProviderRoute[] {
  // Access tokens this simulator issued, with their expiry: FCM accepts only those, so the
  // adapter's token fetch and refresh are exercised for real.
  const issued = new Map<string, number>();

  const issue = (now: number): string => {
    const token = `ya29.sim-${randomHex32()}`;
    issued.set(token, now + ACCESS_TOKEN_LIFETIME_SECONDS * 1000);
    if (issued.size > MAX_ISSUED_TOKENS) {
      const oldest = issued.keys().next();
      if (!oldest.done) issued.delete(oldest.value);
    }
    return token;
  };

  const token: ProviderRoute = {
    name: 'oauth.token',
    methods: ['POST'],
    match: (path) => (path === '/token' ? { script: undefined } : undefined),
    // The service account is the "recipient", so a test can script its token fetches.
    recipientOf: (request) => {
      const assertion = request.form().get('assertion');
      return assertion ? text(decodeJwt(assertion)?.payload.iss) : undefined;
    },
    success: (request) => {
      const problem = tokenRequestProblem(request.form(), request.receivedAt);
      if (problem !== undefined) return oauthError(400, 'invalid_grant', problem);
      return {
        status: 200,
        body: {
          access_token: issue(request.receivedAt),
          expires_in: ACCESS_TOKEN_LIFETIME_SECONDS,
          token_type: 'Bearer',
        },
      };
    },
    error: tokenScriptedError,
    namedError: (code) =>
      oauthError(code === 'invalid_client' ? 401 : 400, code, `simulated ${code}`),
  };

  const send: ProviderRoute = {
    name: 'fcm.send',
    methods: ['POST'],
    match: (path) => (SEND_PATH.test(path) ? { script: undefined } : undefined),
    recipientOf: (request) => targetOf(at(request.json(), 'message')),
    authorize: (request) => {
      const bearer = bearerToken(request.headers);
      const expiresAt = bearer === undefined ? undefined : issued.get(bearer);
      return expiresAt !== undefined && expiresAt > request.receivedAt
        ? undefined
        : fcmCodeError('THIRD_PARTY_AUTH_ERROR');
    },
    success: (request) => {
      const message = at(request.json(), 'message');
      if (typeof message !== 'object' || message === null || request.recipient === undefined) {
        return fcmCodeError('INVALID_ARGUMENT');
      }
      const data = at(message, 'data');
      if (data !== undefined) {
        const values = typeof data === 'object' && data !== null ? Object.values(data) : [null];
        // FCM insists on string values; catching this here saves a surprise in production.
        if (values.some((value) => typeof value !== 'string')) {
          return fcmError(
            400,
            'INVALID_ARGUMENT',
            "Invalid value at 'message.data': data values must be strings",
            'INVALID_ARGUMENT',
          );
        }
      }
      const project = decodeSegment(SEND_PATH.exec(request.path)?.[1]) ?? '';
      const id = `0:${request.receivedAt}%${randomHex32().slice(0, 16)}`;
      return { status: 200, body: { name: `projects/${project}/messages/${id}` } };
    },
    error: scriptedError,
    namedError: (code) => fcmCodeError(code),
  };

  return [token, send];
}
