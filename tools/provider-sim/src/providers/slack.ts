import {
  type ErrorDetail,
  type ProviderRoute,
  type RequestInput,
  type SimResponse,
} from '../route';
import { at, bearerToken, header, text } from './shared';

/**
 * Slack Web API `POST /api/chat.postMessage`. Slack reports failures as HTTP 200
 * `{ok:false, error:'<code>'}`; only rate limiting (429) and outages (5xx) change the status.
 */

/** The error string a scripted `fail-<status>` carries. */
export const SLACK_ERROR_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'invalid_arguments',
  401: 'not_authed',
  403: 'no_permission',
  404: 'channel_not_found',
  413: 'msg_too_long',
  429: 'ratelimited',
  500: 'internal_error',
  503: 'service_unavailable',
  504: 'request_timeout',
};

const MAX_TEXT_CHARS = 40_000;

export function slackError(error: string, status = 200) {
  return { status, body: { ok: false, error } } satisfies SimResponse;
}

function scriptedError(status: number, detail: ErrorDetail): SimResponse {
  // The simulator's own complaints keep their message, so a bad script is still readable.
  if (!detail.scripted)
    return { status, body: { ok: false, error: detail.code, detail: detail.message } };
  const fallback = status >= 500 ? 'fatal_error' : 'invalid_arguments';
  return slackError(SLACK_ERROR_BY_STATUS[status] ?? fallback, status);
}

interface SlackArgs {
  channel?: string;
  text?: string;
  token?: string;
  hasBlocks: boolean;
}

/** Slack accepts JSON and form bodies alike; both are read the same way. */
function argsOf(request: RequestInput): SlackArgs {
  const contentType = header(request.headers, 'content-type') ?? '';
  if (contentType.startsWith('application/x-www-form-urlencoded')) {
    const form = request.form();
    return {
      channel: form.get('channel') || undefined,
      text: form.get('text') || undefined,
      token: form.get('token') || undefined,
      hasBlocks: Boolean(form.get('blocks') || form.get('attachments')),
    };
  }
  const body = request.json();
  return {
    channel: text(at(body, 'channel')),
    text: text(at(body, 'text')),
    token: text(at(body, 'token')),
    hasBlocks: at(body, 'blocks') !== undefined || at(body, 'attachments') !== undefined,
  };
}

export function slackRoutes(): ProviderRoute[] {
  let sequence = 0;
  // Unique per message, shaped like Slack's `<seconds>.<microseconds>` timestamps.
  const nextTs = (now: number): string => {
    sequence = (sequence + 1) % 1_000_000;
    return `${Math.floor(now / 1000)}.${String(sequence).padStart(6, '0')}`;
  };

  const postMessage: ProviderRoute = {
    name: 'slack.postMessage',
    methods: ['POST'],
    match: (path) => (path === '/api/chat.postMessage' ? { script: undefined } : undefined),
    recipientOf: (request) => argsOf(request).channel,
    authorize: (request) =>
      (bearerToken(request.headers) ?? argsOf(request).token) === undefined
        ? slackError('not_authed')
        : undefined,
    success: (request) => {
      const args = argsOf(request);
      if (args.channel === undefined) return slackError('channel_not_found');
      if (args.text === undefined && !args.hasBlocks) return slackError('no_text');
      if ((args.text ?? '').length > MAX_TEXT_CHARS) return slackError('msg_too_long');
      const ts = nextTs(request.receivedAt);
      return {
        status: 200,
        body: {
          ok: true,
          channel: args.channel,
          ts,
          message: {
            type: 'message',
            subtype: 'bot_message',
            text: args.text ?? '',
            ts,
            bot_id: 'BSIMULATOR',
          },
        },
      };
    },
    error: scriptedError,
    // Slack's documented way: the named error at HTTP 200.
    namedError: (code) => slackError(code),
  };

  return [postMessage];
}
