import { randomUUID } from 'node:crypto';
import { type MessageStore } from '../engine/message-store';
import {
  type ErrorDetail,
  type ProviderRoute,
  type RequestInput,
  type SimResponse,
} from '../route';
import { phaseAt, type MessagePhase } from '../engine/status-scripts';
import { at, bearerToken, text } from './shared';

/**
 * SendGrid v3: `POST /v3/mail/send` (202 + X-Message-Id) and the Email Activity lookup
 * `GET /v3/messages?query=msg_id LIKE "<id>%"`. Errors are `{errors:[{message, field, help}]}`.
 */

/** Canonical messages per status, so a scripted failure reads like the real one. */
export const SENDGRID_MESSAGES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'The provided authorization grant is invalid, expired, or revoked',
  403: 'access forbidden',
  404: 'resource not found',
  405: 'method not allowed',
  413: 'The JSON payload you have included in your request is too large.',
  429: 'too many requests',
  500: 'internal server error',
  502: 'bad gateway',
  503: 'service unavailable',
  504: 'gateway timeout',
};

/** What SendGrid's activity feed calls each phase of a message. */
export const SENDGRID_STATUS: Readonly<Record<MessagePhase, string>> = {
  pending: 'processed',
  delivered: 'delivered',
  undelivered: 'not_delivered',
  failed: 'not_delivered',
};

export function sendgridError(status: number, message: string, field: string | null = null) {
  return { status, body: { errors: [{ message, field, help: null }] } } satisfies SimResponse;
}

function scriptedError(status: number, detail: ErrorDetail): SimResponse {
  const message = detail.scripted
    ? (SENDGRID_MESSAGES[status] ?? `simulated ${status}`)
    : detail.message;
  const response = sendgridError(status, message);
  if (detail.retryAfterSeconds === undefined) return response;
  // SendGrid's own rate-limit signal; clients that ignore Retry-After read this one.
  const reset = Math.ceil(Date.now() / 1000) + detail.retryAfterSeconds;
  return { ...response, headers: { 'x-ratelimit-reset': String(reset) } };
}

/** Like SendGrid's ids: 16 random bytes as 22 characters of URL-safe base64. */
export function sendgridMessageId(): string {
  return Buffer.from(randomUUID().replace(/-/g, ''), 'hex').toString('base64url');
}

/**
 * The message id an activity query asks for: `msg_id LIKE "<id>%"` or `msg_id="<id>"`, where
 * the value may also be a full `<id>.filterdrecv-…` msg_id.
 */
export function messageIdOfQuery(query: string | null): string | undefined {
  if (query === null) return undefined;
  const match = /\bmsg_id\s*(?:like|=)\s*(["'])([^"']*)\1/i.exec(query);
  const value = match?.[2]?.replace(/%$/, '');
  const id = value?.split('.')[0];
  return id === undefined || id === '' ? undefined : id;
}

function authorize(request: RequestInput): SimResponse | undefined {
  return bearerToken(request.headers) === undefined
    ? sendgridError(401, 'authorization required')
    : undefined;
}

export function sendgridRoutes(store: MessageStore): ProviderRoute[] {
  const send: ProviderRoute = {
    name: 'sendgrid.send',
    methods: ['POST'],
    match: (path) => (path === '/v3/mail/send' ? { script: undefined } : undefined),
    recipientOf: (request) => text(at(request.json(), 'personalizations', 0, 'to', 0, 'email')),
    authorize,
    success: (request) => {
      const mail = request.json();
      if (typeof mail !== 'object' || mail === null) {
        return sendgridError(400, 'Invalid JSON in request body');
      }
      if (request.recipient === undefined) {
        return sendgridError(
          400,
          'The to array is required for all personalization objects, and must have at least one email object with a valid email address.',
          'personalizations.0.to',
        );
      }
      const from = text(at(mail, 'from', 'email'));
      if (from === undefined) {
        return sendgridError(
          400,
          'The from object must be provided for every email send.',
          'from.email',
        );
      }
      const templated = text(at(mail, 'template_id')) !== undefined;
      const subject = text(at(mail, 'subject')) ?? text(at(mail, 'personalizations', 0, 'subject'));
      if (!templated && subject === undefined) {
        return sendgridError(400, 'The subject is required.', 'subject');
      }
      const content = at(mail, 'content');
      if (!templated && (!Array.isArray(content) || content.length === 0)) {
        return sendgridError(
          400,
          'Unless a valid template_id is provided, the content parameter is required.',
          'content',
        );
      }
      const id = sendgridMessageId();
      store.remember(id, {
        recipient: request.recipient,
        acceptedAt: request.receivedAt,
        status: request.statusScript,
        fields: { from, subject: subject ?? '' },
      });
      return { status: 202, headers: { 'x-message-id': id } };
    },
    error: scriptedError,
    namedError: (code) => {
      const status = /^\d{3}$/.test(code) ? Number(code) : undefined;
      return status !== undefined && status >= 400 && status <= 599
        ? scriptedError(status, { code, message: '', scripted: true })
        : sendgridError(400, code);
    },
  };

  const status: ProviderRoute = {
    name: 'sendgrid.status',
    kind: 'check',
    methods: ['GET'],
    match: (path) => (path === '/v3/messages' ? { script: undefined } : undefined),
    recipientOf: (request) => {
      const id = messageIdOfQuery(request.query.get('query'));
      return id === undefined ? undefined : store.get(id)?.recipient;
    },
    authorize,
    success: (request) => {
      const id = messageIdOfQuery(request.query.get('query'));
      if (id === undefined) {
        return sendgridError(400, 'invalid query: expected msg_id LIKE "<id>%"', 'query');
      }
      const message = store.get(id);
      // Unknown ids look like messages the activity feed has not indexed yet, as on SendGrid.
      if (!message) return { status: 200, body: { messages: [] } };
      const { phase, since } = phaseAt(message.status.script, message.acceptedAt, Date.now());
      return {
        status: 200,
        body: {
          messages: [
            {
              from_email: message.fields.from ?? '',
              msg_id: `${id}.filterdrecv-sim-1.0`,
              subject: message.fields.subject ?? '',
              to_email: message.recipient,
              status: SENDGRID_STATUS[phase],
              opens_count: 0,
              clicks_count: 0,
              last_event_time: new Date(since).toISOString(),
            },
          ],
        },
      };
    },
    error: scriptedError,
  };

  return [send, status];
}
