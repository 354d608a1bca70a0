import type { SendgridSettings } from '@herald/config';
import { idempotencyKey } from './idempotency-key';
import {
  MAX_RETRY_AFTER_MS,
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
 * What an Email Activity `status` means for Herald. Any other value is read as pending: the
 * status-check policy gives up eventually, which beats declaring an outcome SendGrid never gave.
 */
export const SENDGRID_ACTIVITY_OUTCOMES: Readonly<
  Record<string, 'pending' | 'delivered' | 'bounced'>
> = {
  processed: 'pending',
  delivered: 'delivered',
  not_delivered: 'bounced',
};

/** Reported while the Email Activity index has not caught up with a just-accepted message. */
export const SENDGRID_NOT_INDEXED = 'not_indexed';

export type SendgridStatusReading =
  | { outcome: 'delivered' }
  | { outcome: 'pending'; providerStatus: string }
  | { outcome: 'bounced'; error: DeliveryError };

/** SendGrid v3: Mail Send for email, the Email Activity API for delivery status. */
export class SendgridProvider implements ProviderAdapter {
  readonly name = 'sendgrid';
  readonly channels = ['email'] as const;
  private readonly secrets: readonly string[];

  constructor(
    private readonly settings: SendgridSettings,
    private readonly timeoutMs: number,
  ) {
    this.secrets = [settings.apiKey];
  }

  async send(request: SendRequest): Promise<SendResult> {
    try {
      const problem = sendgridContentProblem(request.content);
      if (problem) return invalidContent(problem);
      const outcome = await callProvider(buildSendgridMailSend(this.settings, request), {
        timeoutMs: this.timeoutMs,
        secrets: this.secrets,
        classify: (response) => classifySendgridResponse(response),
      });
      if (!outcome.ok) return outcome;
      const providerMessageId = outcome.headers['x-message-id'] ?? null;
      return { ok: true, status: 'sent', providerMessageId, log: outcome.log };
    } catch (error) {
      return internalFailure(error, this.secrets);
    }
  }

  async checkStatus(request: StatusCheckRequest): Promise<StatusCheckResult> {
    try {
      const outcome = await callProvider(buildSendgridActivityQuery(this.settings, request), {
        timeoutMs: this.timeoutMs,
        secrets: this.secrets,
        classify: (response) => classifySendgridResponse(response),
      });
      if (!outcome.ok) return outcome;
      const reading = readSendgridActivity(outcome.body);
      if (!reading) {
        return {
          ok: false,
          error: {
            category: 'retryable',
            code: 'sendgrid_invalid_response',
            message: 'SendGrid Email Activity answered 2xx without a readable messages list',
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

/** Why this content cannot be mailed, or null. SendGrid refuses a message without a subject. */
export function sendgridContentProblem(content: Record<string, string>): string | null {
  if (!content.subject) return 'email content needs a subject';
  if (!content.text && !content.html) return 'email content needs text or html';
  return null;
}

export function buildSendgridMailSend(settings: SendgridSettings, request: SendRequest): HttpCall {
  const { subject, text, html } = request.content;
  // SendGrid insists that text/plain comes before text/html.
  const content = [
    ...(text ? [{ type: 'text/plain', value: text }] : []),
    ...(html ? [{ type: 'text/html', value: html }] : []),
  ];
  return {
    method: 'POST',
    url: `${trimSlashes(settings.baseUrl)}/v3/mail/send`,
    headers: {
      ...commonHeaders(settings, request.messageId),
      'content-type': 'application/json',
    },
    body: JSON.stringify({
      personalizations: [{ to: [{ email: request.recipient }] }],
      from: { email: settings.from },
      subject,
      content,
    }),
  };
}

export function buildSendgridActivityQuery(
  settings: SendgridSettings,
  request: Pick<StatusCheckRequest, 'messageId' | 'providerMessageId'>,
): HttpCall {
  // The activity msg_id is the X-Message-Id plus a suffix naming the receiving server.
  const query = encodeURIComponent(`msg_id LIKE "${request.providerMessageId}%"`);
  return {
    method: 'GET',
    url: `${trimSlashes(settings.baseUrl)}/v3/messages?limit=1&query=${query}`,
    headers: commonHeaders(settings, request.messageId),
    body: null,
  };
}

/** Mail Send and Email Activity share one error format and one retry rule. */
export function classifySendgridResponse(
  response: HttpResponse,
  now: number = Date.now(),
): HttpClassification {
  if (response.status >= 200 && response.status <= 299) return { ok: true };
  const error = classifySendgridError(response.status, response.body);
  const retryAfterMs = sendgridRetryAfterMs(response.headers, now);
  return retryAfterMs === undefined ? { ok: false, error } : { ok: false, error, retryAfterMs };
}

/**
 * SendGrid's error bodies carry messages but no codes, so the code is the HTTP status: 429 and
 * the transient 5xx are retried; 400, 401/403 (API key), 404, 413 and the rest are final.
 */
export function classifySendgridError(status: number, body: string): DeliveryError {
  const detail = sendgridErrorDetail(body);
  return {
    category: RETRYABLE_HTTP_STATUSES.includes(status) ? 'retryable' : 'non_retryable',
    code: `http_${status}`,
    message: `SendGrid answered ${httpStatusText(status)}${detail ? `: ${detail}` : ''}`,
  };
}

/**
 * SendGrid rate limits announce their end as X-RateLimit-Reset (epoch seconds); a Retry-After
 * is honoured too, and with both the later one wins so neither limit is hit again.
 */
export function sendgridRetryAfterMs(
  headers: Record<string, string>,
  now: number = Date.now(),
): number | undefined {
  const retryAfter = parseRetryAfter(headers['retry-after'], now);
  const resetAt = Number(headers['x-ratelimit-reset']);
  const untilReset =
    headers['x-ratelimit-reset'] !== undefined && Number.isFinite(resetAt)
      ? Math.min(Math.max(resetAt * 1000 - now, 0), MAX_RETRY_AFTER_MS)
      : undefined;
  if (retryAfter === undefined) return untilReset;
  return untilReset === undefined ? retryAfter : Math.max(retryAfter, untilReset);
}

/** The reading of a 2xx Email Activity answer; null when it is not the documented shape. */
export function readSendgridActivity(body: string): SendgridStatusReading | null {
  const parsed = parseJson(body) as { messages?: unknown } | undefined;
  if (!parsed || !Array.isArray(parsed.messages)) return null;
  const first = parsed.messages[0] as { status?: unknown } | undefined;
  if (first === undefined) return { outcome: 'pending', providerStatus: SENDGRID_NOT_INDEXED };
  if (typeof first.status !== 'string') return null;
  return sendgridActivityReading(first.status);
}

export function sendgridActivityReading(status: string): SendgridStatusReading {
  const outcome = Object.hasOwn(SENDGRID_ACTIVITY_OUTCOMES, status)
    ? SENDGRID_ACTIVITY_OUTCOMES[status]
    : undefined;
  switch (outcome ?? 'pending') {
    case 'delivered':
      return { outcome: 'delivered' };
    case 'bounced':
      return {
        outcome: 'bounced',
        error: {
          category: 'non_retryable',
          code: `sendgrid_${status}`,
          message: `SendGrid reports the message ${status.replace(/_/g, ' ')}`,
        },
      };
    case 'pending':
      return { outcome: 'pending', providerStatus: status };
  }
}

function sendgridErrorDetail(body: string): string {
  const parsed = parseJson(body) as { errors?: unknown } | undefined;
  if (!parsed || !Array.isArray(parsed.errors)) return '';
  const messages = (parsed.errors as { message?: unknown; field?: unknown }[])
    .map((e) =>
      typeof e?.message !== 'string'
        ? ''
        : typeof e.field === 'string' && e.field !== ''
          ? `${e.field}: ${e.message}`
          : e.message,
    )
    .filter((m) => m !== '');
  return messages.join('; ').slice(0, 300);
}

function commonHeaders(settings: SendgridSettings, messageId: string): Record<string, string> {
  return {
    authorization: `Bearer ${settings.apiKey}`,
    'idempotency-key': idempotencyKey(messageId),
    'user-agent': 'herald/1',
  };
}

function trimSlashes(url: string): string {
  return url.replace(/\/+$/, '');
}
