import { type MessageStore, type StoredMessage } from '../engine/message-store';
import {
  type ErrorDetail,
  type ProviderRoute,
  type RequestInput,
  type SimResponse,
} from '../route';
import { phaseAt, type MessagePhase } from '../engine/status-scripts';
import { basicAuth, decodeSegment, randomHex32 } from './shared';

/**
 * Twilio Programmable Messaging: `POST /2010-04-01/Accounts/{sid}/Messages.json` (form, Basic
 * auth, 201 message JSON) and `GET .../Messages/{MessageSid}.json`. Errors are
 * `{code, message, more_info, status}` with Twilio's numeric codes.
 */

interface TwilioCode {
  status: number;
  message: string;
}

/** Codes a script can name with `error-<code>-<n>`, and the HTTP status each comes with. */
export const TWILIO_CODES: Readonly<Record<number, TwilioCode>> = {
  20003: { status: 401, message: 'Authenticate' },
  20004: { status: 405, message: 'Method not allowed' },
  20403: { status: 403, message: 'Permission denied' },
  20404: { status: 404, message: 'The requested resource was not found' },
  20429: { status: 429, message: 'Too Many Requests' },
  20500: { status: 500, message: 'Internal Server Error' },
  20503: { status: 503, message: 'Service Unavailable' },
  21211: { status: 400, message: "Invalid 'To' Phone Number" },
  21408: {
    status: 400,
    message:
      "Permission to send an SMS has not been enabled for the region indicated by the 'To' number",
  },
  21602: { status: 400, message: 'Message body is required.' },
  21603: { status: 400, message: "A 'From' phone number is required." },
  21604: { status: 400, message: "A 'To' phone number is required." },
  21606: {
    status: 400,
    message:
      "The 'From' phone number provided is not a valid message-capable Twilio phone number for this destination/account",
  },
  21610: { status: 400, message: 'Attempt to send to unsubscribed recipient' },
  21612: { status: 400, message: "The 'To' phone number is not currently reachable via SMS" },
  21614: { status: 400, message: "'To' number is not a valid mobile number" },
  21617: {
    status: 400,
    message: 'The concatenated message body exceeds the 1600 character limit.',
  },
};

/** The code a scripted `fail-<status>` comes with: what Twilio most often answers with it. */
export const TWILIO_CODE_BY_STATUS: Readonly<Record<number, number>> = {
  400: 21211,
  401: 20003,
  403: 20403,
  404: 20404,
  405: 20004,
  429: 20429,
  500: 20500,
  503: 20503,
};

/** Status, error_code and error_message a lookup reports per phase. */
export const TWILIO_STATUS: Readonly<
  Record<MessagePhase, { status: string; errorCode: number | null; errorMessage: string | null }>
> = {
  pending: { status: 'sent', errorCode: null, errorMessage: null },
  delivered: { status: 'delivered', errorCode: null, errorMessage: null },
  undelivered: {
    status: 'undelivered',
    errorCode: 30005,
    errorMessage: 'Unknown destination handset',
  },
  failed: { status: 'failed', errorCode: 30008, errorMessage: 'Unknown error' },
};

const MAX_BODY_CHARS = 1600;
// Enough to echo what a test sent without holding whole message bodies for 100k+ messages.
const STORED_BODY_CHARS = 320;

export function twilioError(status: number, code: number | string | null, message: string) {
  return {
    status,
    body: {
      code,
      message,
      more_info: code === null ? null : `https://www.twilio.com/docs/errors/${code}`,
      status,
    },
  } satisfies SimResponse;
}

function twilioCodeError(code: number): SimResponse {
  const known = TWILIO_CODES[code];
  return twilioError(known?.status ?? 400, code, known?.message ?? `Error ${code}`);
}

function scriptedError(status: number, detail: ErrorDetail): SimResponse {
  const code = TWILIO_CODE_BY_STATUS[status];
  if (!detail.scripted) return twilioError(status, code ?? null, detail.message);
  // Statuses Twilio has no canonical code for carry none, so clients fall back to http_<status>.
  return code === undefined
    ? twilioError(status, null, `simulated ${status}`)
    : twilioError(status, code, TWILIO_CODES[code]?.message ?? `simulated ${status}`);
}

/** Twilio's date format: RFC 2822 with a numeric zone. */
function twilioDate(ms: number): string {
  return new Date(ms).toUTCString().replace('GMT', '+0000');
}

const SEND_PATH = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/;
const STATUS_PATH = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\/([^/]+)\.json$/;

function accountOf(path: string, pattern: RegExp): string | undefined {
  return decodeSegment(pattern.exec(path)?.[1]);
}

/** Basic auth as the account (or an API key SK… acting for it) with a non-empty secret. */
function authorizeFor(pattern: RegExp) {
  return (request: RequestInput): SimResponse | undefined => {
    const credentials = basicAuth(request.headers);
    const account = accountOf(request.path, pattern);
    const valid =
      credentials !== undefined &&
      credentials.password !== '' &&
      (credentials.user === account || credentials.user.startsWith('SK'));
    return valid ? undefined : twilioCodeError(20003);
  };
}

function messageJson(
  sid: string,
  account: string,
  message: StoredMessage,
  status: string,
  updatedAt: number,
  error: { code: number | null; message: string | null },
): Record<string, unknown> {
  const uri = `/2010-04-01/Accounts/${account}/Messages/${sid}.json`;
  return {
    account_sid: account,
    api_version: '2010-04-01',
    body: message.fields.body ?? '',
    date_created: twilioDate(message.acceptedAt),
    date_sent: status === 'queued' ? null : twilioDate(message.acceptedAt),
    date_updated: twilioDate(updatedAt),
    direction: 'outbound-api',
    error_code: error.code,
    error_message: error.message,
    from: message.fields.from ?? '',
    messaging_service_sid: message.fields.messagingServiceSid || null,
    num_media: '0',
    num_segments: '1',
    price: null,
    price_unit: 'USD',
    sid,
    status,
    subresource_uris: { media: uri.replace(/\.json$/, '/Media.json') },
    to: message.recipient,
    uri,
  };
}

export function twilioRoutes(store: MessageStore): ProviderRoute[] {
  const send: ProviderRoute = {
    name: 'twilio.send',
    methods: ['POST'],
    match: (path) => (SEND_PATH.test(path) ? { script: undefined } : undefined),
    recipientOf: (request) => request.form().get('To') || undefined,
    authorize: authorizeFor(SEND_PATH),
    success: (request) => {
      const form = request.form();
      const from = form.get('From') ?? '';
      const messagingServiceSid = form.get('MessagingServiceSid') ?? '';
      const body = form.get('Body') ?? '';
      if (request.recipient === undefined) return twilioCodeError(21604);
      if (from === '' && messagingServiceSid === '') return twilioCodeError(21603);
      if (body === '' && !form.has('MediaUrl')) return twilioCodeError(21602);
      if (body.length > MAX_BODY_CHARS) return twilioCodeError(21617);
      const account = accountOf(request.path, SEND_PATH) ?? '';
      const sid = `SM${randomHex32()}`;
      const message: StoredMessage = {
        recipient: request.recipient,
        acceptedAt: request.receivedAt,
        status: request.statusScript,
        fields: { account, from, messagingServiceSid, body: body.slice(0, STORED_BODY_CHARS) },
      };
      store.remember(sid, message);
      const none = { code: null, message: null };
      return {
        status: 201,
        body: messageJson(sid, account, message, 'queued', request.receivedAt, none),
      };
    },
    error: scriptedError,
    namedError: (code) =>
      /^\d+$/.test(code) ? twilioCodeError(Number(code)) : twilioError(400, code, code),
  };

  const status: ProviderRoute = {
    name: 'twilio.status',
    kind: 'check',
    methods: ['GET'],
    match: (path) => (STATUS_PATH.test(path) ? { script: undefined } : undefined),
    recipientOf: (request) => {
      const sid = decodeSegment(STATUS_PATH.exec(request.path)?.[2]);
      return sid === undefined ? undefined : store.get(sid)?.recipient;
    },
    authorize: authorizeFor(STATUS_PATH),
    success: (request) => {
      const match = STATUS_PATH.exec(request.path);
      const account = decodeSegment(match?.[1]) ?? '';
      const sid = decodeSegment(match?.[2]) ?? '';
      const message = store.get(sid);
      if (!message || message.fields.account !== account) {
        return twilioError(404, 20404, `The requested resource ${request.path} was not found`);
      }
      const { phase, since } = phaseAt(message.status.script, message.acceptedAt, Date.now());
      const shown = TWILIO_STATUS[phase];
      return {
        status: 200,
        body: messageJson(sid, account, message, shown.status, since, {
          code: shown.errorCode,
          message: shown.errorMessage,
        }),
      };
    },
    error: scriptedError,
    namedError: (code) =>
      /^\d+$/.test(code) ? twilioCodeError(Number(code)) : twilioError(400, code, code),
  };

  return [send, status];
}
