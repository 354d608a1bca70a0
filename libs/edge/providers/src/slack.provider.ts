import type { SlackSettings } from '@herald/config';
import { idempotencyKey } from './idempotency-key';
import {
  RETRYABLE_HTTP_STATUSES,
  parseRetryAfter,
  type HttpClassification,
} from '@herald/error-classification';
import type { DeliveryError } from '@herald/messages';
import { internalFailure, invalidContent, parseJson } from './adapter-support';
import { callProvider, type HttpCall, type HttpResponse } from './http-call';
import type { ProviderAdapter, SendRequest, SendResult } from '@herald/decisions';

/**
 * chat.postMessage's documented `error` strings. Any string not listed is final: Slack adds
 * errors over time, and retrying one we do not understand is more likely to repeat it than fix
 * it.
 */
export const SLACK_ERRORS: Readonly<Record<string, { retryable: boolean; description: string }>> = {
  ratelimited: { retryable: true, description: 'Slack rate limit reached' },
  rate_limited: { retryable: true, description: 'Slack rate limit reached' },
  service_unavailable: { retryable: true, description: 'Slack is temporarily unavailable' },
  internal_error: { retryable: true, description: 'Slack had a transient internal error' },
  fatal_error: { retryable: true, description: 'Slack failed while handling the request' },
  request_timeout: { retryable: true, description: 'Slack timed out receiving the request' },
  team_added_to_org: {
    retryable: true,
    description: 'The workspace is being migrated into an Enterprise Grid organization',
  },
  channel_not_found: {
    retryable: false,
    description: 'The channel does not exist or the bot cannot see it',
  },
  not_in_channel: { retryable: false, description: 'The bot is not a member of the channel' },
  is_archived: { retryable: false, description: 'The channel is archived' },
  msg_too_long: { retryable: false, description: 'The message text is too long' },
  no_text: { retryable: false, description: 'The message has no text' },
  too_many_attachments: { retryable: false, description: 'The message has too many attachments' },
  invalid_auth: { retryable: false, description: 'Slack does not accept the bot token' },
  not_authed: { retryable: false, description: 'Slack received no bot token' },
  account_inactive: {
    retryable: false,
    description: 'The bot token belongs to a deleted user or workspace',
  },
  token_revoked: { retryable: false, description: 'The bot token has been revoked' },
  token_expired: { retryable: false, description: 'The bot token has expired' },
  no_permission: { retryable: false, description: 'The bot token lacks the needed permission' },
  missing_scope: { retryable: false, description: 'The bot token lacks the chat:write scope' },
  not_allowed_token_type: {
    retryable: false,
    description: 'chat.postMessage does not accept this type of token',
  },
  invalid_arguments: { retryable: false, description: 'Slack rejected the message arguments' },
  invalid_arg_name: { retryable: false, description: 'Slack rejected an argument name' },
  invalid_blocks: { retryable: false, description: 'Slack rejected the message blocks' },
  restricted_action: {
    retryable: false,
    description: 'A workspace setting forbids the bot to post in this channel',
  },
  ekm_access_denied: { retryable: false, description: 'Administrators have suspended posting' },
  access_denied: { retryable: false, description: 'Slack denied access to the channel' },
  user_not_found: { retryable: false, description: 'The user to message does not exist' },
};

/** Slack's Web API: chat.postMessage answers once the message is in the channel. */
export class SlackProvider implements ProviderAdapter {
  readonly name = 'slack';
  readonly channels = ['chat'] as const;
  private readonly secrets: readonly string[];

  constructor(
    private readonly settings: SlackSettings,
    private readonly timeoutMs: number,
  ) {
    this.secrets = [settings.botToken];
  }

  async send(request: SendRequest): Promise<SendResult> {
    try {
      if (!request.content.text) return invalidContent('chat content needs text');
      const outcome = await callProvider(buildSlackPostMessage(this.settings, request), {
        timeoutMs: this.timeoutMs,
        secrets: this.secrets,
        classify: classifySlackResponse,
      });
      if (!outcome.ok) return outcome;
      const ts = (parseJson(outcome.body) as { ts?: unknown } | undefined)?.ts;
      const providerMessageId = typeof ts === 'string' ? ts : null;
      return { ok: true, status: 'delivered', providerMessageId, log: outcome.log };
    } catch (error) {
      return internalFailure(error, this.secrets);
    }
  }
}

export function buildSlackPostMessage(settings: SlackSettings, request: SendRequest): HttpCall {
  return {
    method: 'POST',
    url: `${settings.baseUrl.replace(/\/+$/, '')}/api/chat.postMessage`,
    headers: {
      authorization: `Bearer ${settings.botToken}`,
      'content-type': 'application/json; charset=utf-8',
      'idempotency-key': idempotencyKey(request.messageId),
      'user-agent': 'herald/1',
    },
    body: JSON.stringify({ channel: request.recipient, text: request.content.text }),
  };
}

/**
 * Slack reports most failures as HTTP 200 with `ok:false`, so the body decides; an `error`
 * string names the code (also on a 429 or 5xx, which stay retryable whatever it says). A
 * non-2xx answer without one falls back to the generic status classification (null).
 */
export function classifySlackResponse(
  response: HttpResponse,
  now: number = Date.now(),
): HttpClassification | null {
  const parsed = parseJson(response.body) as { ok?: unknown; error?: unknown } | undefined;
  const success = response.status >= 200 && response.status <= 299;
  if (success && parsed?.ok === true) return { ok: true };

  let error: DeliveryError;
  if (typeof parsed?.error === 'string' && parsed.error !== '') {
    error = classifySlackError(parsed.error);
    if (RETRYABLE_HTTP_STATUSES.includes(response.status)) error.category = 'retryable';
  } else if (success) {
    // Without ok:true nothing says the message was posted; a retry is the lesser risk.
    error = {
      category: 'retryable',
      code: 'slack_invalid_response',
      message: 'Slack answered 2xx without ok:true',
    };
  } else {
    return null;
  }
  const retryAfterMs = parseRetryAfter(response.headers['retry-after'], now);
  return retryAfterMs === undefined ? { ok: false, error } : { ok: false, error, retryAfterMs };
}

export function classifySlackError(slackError: string): DeliveryError {
  // hasOwn: an answer such as 'constructor' must not find Object.prototype's members.
  const known = Object.hasOwn(SLACK_ERRORS, slackError) ? SLACK_ERRORS[slackError] : undefined;
  // Bounded: the string comes from whoever answered, not necessarily Slack.
  const name = slackError.slice(0, 100);
  return {
    category: known?.retryable ? 'retryable' : 'non_retryable',
    code: `slack_${name}`,
    message: known ? `${known.description} (${name})` : `Slack refused the message: ${name}`,
  };
}
