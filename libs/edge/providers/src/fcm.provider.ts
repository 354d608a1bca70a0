import type { FcmSettings } from '@herald/config';
import { idempotencyKey } from './idempotency-key';
import {
  RETRYABLE_HTTP_STATUSES,
  httpStatusText,
  parseRetryAfter,
  type HttpClassification,
} from '@herald/error-classification';
import type { DeliveryError } from '@herald/messages';
import { GoogleAccessTokens } from './google-oauth';
import { internalFailure, invalidContent, parseJson } from './adapter-support';
import { callProvider, type HttpCall, type HttpResponse } from './http-call';
import type { ProviderAdapter, SendRequest, SendResult } from '@herald/decisions';

export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';

/** FCM documents a back-off of at least a minute after its quota is exceeded. */
export const FCM_QUOTA_MIN_RETRY_AFTER_MS = 60_000;

/**
 * FCM v1 ErrorCode values, and the canonical statuses that can come without one. A code not
 * listed is classified by its HTTP status.
 */
export const FCM_ERRORS: Readonly<
  Record<string, { retryable: boolean; description: string; minRetryAfterMs?: number }>
> = {
  UNAVAILABLE: { retryable: true, description: 'FCM is temporarily unavailable' },
  INTERNAL: { retryable: true, description: 'FCM had an internal error' },
  QUOTA_EXCEEDED: {
    retryable: true,
    description: 'FCM sending quota exceeded',
    minRetryAfterMs: FCM_QUOTA_MIN_RETRY_AFTER_MS,
  },
  RESOURCE_EXHAUSTED: {
    retryable: true,
    description: 'FCM sending quota exceeded',
    minRetryAfterMs: FCM_QUOTA_MIN_RETRY_AFTER_MS,
  },
  UNREGISTERED: {
    retryable: false,
    description: 'The device token is no longer registered (app uninstalled or token expired)',
  },
  INVALID_ARGUMENT: { retryable: false, description: 'FCM rejected the message as invalid' },
  SENDER_ID_MISMATCH: {
    retryable: false,
    description: 'The device token belongs to another Firebase project',
  },
  THIRD_PARTY_AUTH_ERROR: {
    retryable: false,
    description: 'FCM could not authenticate with APNs or the web push service',
  },
  UNSPECIFIED_ERROR: { retryable: false, description: 'FCM reported an unspecified error' },
  PERMISSION_DENIED: {
    retryable: false,
    description: 'The service account may not send messages for this project',
  },
};

const FCM_ERROR_TYPE = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';

/** Firebase Cloud Messaging HTTP v1 for push, authenticated as a service account. */
export class FcmProvider implements ProviderAdapter {
  readonly name = 'fcm';
  readonly channels = ['push'] as const;
  private readonly tokens: GoogleAccessTokens;

  constructor(
    private readonly settings: FcmSettings,
    private readonly timeoutMs: number,
  ) {
    this.tokens = new GoogleAccessTokens(settings, FCM_SCOPE, timeoutMs);
  }

  async send(request: SendRequest): Promise<SendResult> {
    let secrets: string[] = [this.settings.privateKey];
    try {
      if (!request.content.text) {
        return invalidContent('push content needs text');
      }
      const access = await this.tokens.get(request.messageId);
      if (!access.ok) return access;
      secrets = [this.settings.privateKey, access.token];
      const outcome = await callProvider(buildFcmSend(this.settings, request, access.token), {
        timeoutMs: this.timeoutMs,
        secrets,
        classify: classifyFcmResponse,
      });
      if (!outcome.ok) {
        // A retryable 401 means the access token itself was refused (expired or revoked).
        if (outcome.log?.response?.status === 401 && outcome.error.category === 'retryable') {
          this.tokens.invalidate(access.token);
        }
        return outcome;
      }
      const name = (parseJson(outcome.body) as { name?: unknown } | undefined)?.name;
      const providerMessageId = typeof name === 'string' ? name : null;
      return { ok: true, status: 'sent', providerMessageId, log: outcome.log };
    } catch (error) {
      return internalFailure(error, secrets);
    }
  }
}

/** `title` and `text` make the notification; every other content key travels as data. */
export function buildFcmSend(
  settings: FcmSettings,
  request: SendRequest,
  accessToken: string,
): HttpCall {
  const { title, text, ...data } = request.content;
  const message = {
    token: request.recipient,
    notification: { ...(title ? { title } : {}), body: text },
    ...(Object.keys(data).length > 0 ? { data } : {}),
  };
  const base = settings.baseUrl.replace(/\/+$/, '');
  return {
    method: 'POST',
    url: `${base}/v1/projects/${encodeURIComponent(settings.projectId)}/messages:send`,
    headers: {
      authorization: `Bearer ${accessToken}`,
      'content-type': 'application/json',
      'idempotency-key': idempotencyKey(request.messageId),
      'user-agent': 'herald/1',
    },
    body: JSON.stringify({ message }),
  };
}

export function classifyFcmResponse(
  response: HttpResponse,
  now: number = Date.now(),
): HttpClassification {
  if (response.status >= 200 && response.status <= 299) return { ok: true };
  const error = classifyFcmError(response.status, response.body);
  const asked = parseRetryAfter(response.headers['retry-after'], now);
  const floor = knownFcmError(error.code.replace(/^fcm_/, ''))?.minRetryAfterMs;
  const retryAfterMs = floor === undefined ? asked : Math.max(asked ?? 0, floor);
  return retryAfterMs === undefined ? { ok: false, error } : { ok: false, error, retryAfterMs };
}

/**
 * `fcm_<ErrorCode>` from the FcmError detail, else `fcm_<canonical status>`, else
 * `http_<status>`. A 401 without THIRD_PARTY_AUTH_ERROR is our access token being refused:
 * retryable, as the retry fetches a fresh one.
 */
export function classifyFcmError(status: number, body: string): DeliveryError {
  const { errorCode, canonical, detail } = readFcmError(body);
  const name = errorCode ?? canonical;
  const known = name === null ? undefined : knownFcmError(name);
  const code = name === null ? `http_${status}` : `fcm_${name}`;
  if (status === 401 && errorCode !== 'THIRD_PARTY_AUTH_ERROR') {
    return {
      category: 'retryable',
      code: name === null ? 'fcm_UNAUTHENTICATED' : code,
      message: `FCM refused the access token; a new one is fetched for the retry${detail ? `: ${detail}` : ''}`,
    };
  }
  const retryable = known ? known.retryable : RETRYABLE_HTTP_STATUSES.includes(status);
  const description = known?.description ?? `FCM answered ${httpStatusText(status)}`;
  return {
    category: retryable ? 'retryable' : 'non_retryable',
    code,
    message: detail ? `${description}: ${detail}` : description,
  };
}

function knownFcmError(name: string) {
  // hasOwn: a name such as 'constructor' must not find Object.prototype's members.
  return Object.hasOwn(FCM_ERRORS, name) ? FCM_ERRORS[name] : undefined;
}

function readFcmError(body: string): {
  errorCode: string | null;
  canonical: string | null;
  detail: string | null;
} {
  const parsed = parseJson(body) as { error?: unknown } | undefined;
  const error = (typeof parsed?.error === 'object' ? parsed.error : null) as {
    status?: unknown;
    message?: unknown;
    details?: unknown;
  } | null;
  const details: unknown[] = Array.isArray(error?.details) ? error.details : [];
  const fcmDetail = details.find(
    (d) => (d as { '@type'?: unknown } | null)?.['@type'] === FCM_ERROR_TYPE,
  ) as { errorCode?: unknown } | undefined;
  return {
    errorCode: enumName(fcmDetail?.errorCode),
    canonical: enumName(error?.status),
    detail: typeof error?.message === 'string' ? error.message.slice(0, 300) : null,
  };
}

/** An enum-looking value, so that whatever answered cannot put arbitrary text in a code. */
function enumName(value: unknown): string | null {
  return typeof value === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(value) ? value : null;
}
