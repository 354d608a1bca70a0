import type { TwilioSettings } from '@herald/config';
import { idempotencyKey } from './idempotency-key';
import {
  RETRYABLE_HTTP_STATUSES,
  httpStatusText,
  parseRetryAfter,
  type HttpClassification,
} from '@herald/error-classification';
import type { DeliveryError } from '@herald/messages';
import { internalFailure, invalidContent, parseJson } from './adapter-support';
import { callProvider, type HttpCall, type HttpResponse } from './http-call';
import type {
  ProviderAdapter,
  SendRequest,
  SendResult,
  StatusCheckRequest,
  StatusCheckResult,
} from '@herald/decisions';

/**
 * Twilio error codes worth retrying whatever the HTTP status says: too many requests, internal
 * error, service unavailable. Every other code (21211 invalid To, 21610 unsubscribed, 21614 not
 * a mobile number, 20003 authentication, 20404 not found…) describes a request that will fail
 * the same way next time.
 */
export const TWILIO_RETRYABLE_CODES: readonly number[] = [20429, 20500, 20503];

/**
 * What a Message resource `status` means for Herald. Statuses not listed (receiving,
 * partially_delivered…) are read as pending: the status-check policy gives up eventually,
 * which beats declaring an outcome Twilio never gave.
 */
export const TWILIO_STATUS_OUTCOMES: Readonly<
  Record<string, 'pending' | 'delivered' | 'undelivered' | 'bounced'>
> = {
  accepted: 'pending',
  scheduled: 'pending',
  queued: 'pending',
  sending: 'pending',
  sent: 'pending',
  delivered: 'delivered',
  read: 'delivered',
  undelivered: 'undelivered',
  canceled: 'undelivered',
  failed: 'bounced',
};

export type TwilioStatusReading =
  | { outcome: 'delivered' }
  | { outcome: 'pending'; providerStatus: string }
  | { outcome: 'bounced' | 'undelivered'; error: DeliveryError };

/** Twilio Programmable Messaging: SMS via the Messages resource, status by fetching it back. */
export class TwilioProvider implements ProviderAdapter {
  readonly name = 'twilio';
  readonly channels = ['sms'] as const;
  private readonly secrets: readonly string[];

  constructor(
    private readonly settings: TwilioSettings,
    private readonly timeoutMs: number,
  ) {
    this.secrets = [settings.authToken, basicCredentials(settings)];
  }

  async send(request: SendRequest): Promise<SendResult> {
    try {
      if (!request.content.text) return invalidContent('sms content needs text');
      const outcome = await callProvider(buildTwilioSend(this.settings, request), {
        timeoutMs: this.timeoutMs,
        secrets: this.secrets,
        classify: (response) => classifyTwilioResponse(response),
      });
      if (!outcome.ok) return outcome;
      // Twilio has accepted the message by now: a missing sid only costs the status checks.
      const sid = (parseJson(outcome.body) as { sid?: unknown } | undefined)?.sid;
      const providerMessageId = typeof sid === 'string' ? sid : null;
      return { ok: true, status: 'sent', providerMessageId, log: outcome.log };
    } catch (error) {
      return internalFailure(error, this.secrets);
    }
  }

  async checkStatus(request: StatusCheckRequest): Promise<StatusCheckResult> {
    try {
      const outcome = await callProvider(buildTwilioStatusFetch(this.settings, request), {
        timeoutMs: this.timeoutMs,
        secrets: this.secrets,
        classify: (response) => classifyTwilioResponse(response),
      });
      if (!outcome.ok) return outcome;
      const reading = readTwilioMessage(outcome.body);
      if (!reading) {
        return {
          ok: false,
          error: {
            category: 'retryable',
            code: 'twilio_invalid_response',
            message: 'Twilio answered 2xx without a readable message status',
          },
          log: outcome.log,
        };
      }
      return { ok: true, ...reading, log: outcome.log };
    } catch (error) {
      return internalFailure(error, this.secrets);
    }
  }
}

export function buildTwilioSend(settings: TwilioSettings, request: SendRequest): HttpCall {
  const form = new URLSearchParams({ To: request.recipient, Body: request.content.text ?? '' });
  // A Messaging Service picks the sending number itself and is named by its own parameter.
  if (/^MG[0-9a-f]{32}$/i.test(settings.from)) form.set('MessagingServiceSid', settings.from);
  else form.set('From', settings.from);
  return {
    method: 'POST',
    url: `${accountUrl(settings)}/Messages.json`,
    headers: {
      ...commonHeaders(settings, request.messageId),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: form.toString(),
  };
}

export function buildTwilioStatusFetch(
  settings: TwilioSettings,
  request: Pick<StatusCheckRequest, 'messageId' | 'providerMessageId'>,
): HttpCall {
  return {
    method: 'GET',
    url: `${accountUrl(settings)}/Messages/${encodeURIComponent(request.providerMessageId)}.json`,
    headers: commonHeaders(settings, request.messageId),
    body: null,
  };
}

export function classifyTwilioResponse(
  response: HttpResponse,
  now: number = Date.now(),
): HttpClassification {
  if (response.status >= 200 && response.status <= 299) return { ok: true };
  const error = classifyTwilioError(response.status, response.body);
  const retryAfterMs = parseRetryAfter(response.headers['retry-after'], now);
  return retryAfterMs === undefined ? { ok: false, error } : { ok: false, error, retryAfterMs };
}

/**
 * `twilio_<code>` when the body names a Twilio error, else `http_<status>`. Retryable: the
 * retryable HTTP statuses (429, 5xx but 501/505) and {@link TWILIO_RETRYABLE_CODES}.
 */
export function classifyTwilioError(status: number, body: string): DeliveryError {
  const parsed = parseJson(body) as { code?: unknown; message?: unknown } | undefined;
  const code = twilioCode(parsed?.code);
  const retryable =
    RETRYABLE_HTTP_STATUSES.includes(status) ||
    (code !== null && TWILIO_RETRYABLE_CODES.includes(code));
  const detail = typeof parsed?.message === 'string' ? parsed.message.slice(0, 300) : '';
  return {
    category: retryable ? 'retryable' : 'non_retryable',
    code: code === null ? `http_${status}` : `twilio_${code}`,
    message: `Twilio answered ${httpStatusText(status)}${detail ? `: ${detail}` : ''}`,
  };
}

/** The reading of a 2xx Message resource; null when it carries no status. */
export function readTwilioMessage(body: string): TwilioStatusReading | null {
  const parsed = parseJson(body) as
    { status?: unknown; error_code?: unknown; error_message?: unknown } | undefined;
  if (typeof parsed?.status !== 'string') return null;
  const message = typeof parsed.error_message === 'string' ? parsed.error_message : null;
  return twilioStatusReading(parsed.status, twilioCode(parsed.error_code), message);
}

export function twilioStatusReading(
  status: string,
  errorCode: number | null = null,
  errorMessage: string | null = null,
): TwilioStatusReading {
  const known = Object.hasOwn(TWILIO_STATUS_OUTCOMES, status)
    ? TWILIO_STATUS_OUTCOMES[status]
    : undefined;
  const outcome = known ?? 'pending';
  switch (outcome) {
    case 'delivered':
      return { outcome };
    case 'pending':
      return { outcome, providerStatus: status };
    case 'undelivered':
    case 'bounced':
      return {
        outcome,
        error: {
          category: 'non_retryable',
          // A canceled message has no error code; its status is the reason.
          code: `twilio_${errorCode ?? status}`,
          message: errorMessage ?? `Twilio reports the message ${status}`,
        },
      };
  }
}

function twilioCode(value: unknown): number | null {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return null;
}

function accountUrl(settings: TwilioSettings): string {
  const base = settings.baseUrl.replace(/\/+$/, '');
  return `${base}/2010-04-01/Accounts/${encodeURIComponent(settings.accountSid)}`;
}

function basicCredentials(settings: TwilioSettings): string {
  return Buffer.from(`${settings.accountSid}:${settings.authToken}`).toString('base64');
}

function commonHeaders(settings: TwilioSettings, messageId: string): Record<string, string> {
  return {
    authorization: `Basic ${basicCredentials(settings)}`,
    'idempotency-key': idempotencyKey(messageId),
    'user-agent': 'herald/1',
  };
}
