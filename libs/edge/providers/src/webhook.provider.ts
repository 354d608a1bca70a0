import { callProvider } from './http-call';
import { idempotencyKey } from './idempotency-key';
import type { ProviderAdapter, SendRequest, SendResult } from '@herald/decisions';

export interface WebhookSettings {
  timeoutMs: number;
  /** Headers added to calls, e.g. an Authorization the receiving endpoint requires… */
  headers: Record<string, string>;
  /** …to these hosts only (lower case): the URL is the caller's, the headers the operator's. */
  headerHosts: readonly string[];
}

/**
 * The generic webhook: POSTs the message as JSON to the recipient URL. Any 2xx means the
 * endpoint accepted it (`sent`); a webhook cannot confirm delivery beyond that.
 */
export class WebhookProvider implements ProviderAdapter {
  readonly name = 'webhook';
  readonly channels = ['webhook'] as const;

  constructor(private readonly settings: WebhookSettings) {}

  async send(request: SendRequest): Promise<SendResult> {
    const configured = this.headersFor(request.recipient);
    const outcome = await callProvider(
      {
        method: 'POST',
        url: request.recipient,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'herald-webhook/1',
          'idempotency-key': idempotencyKey(request.messageId),
          ...configured,
        },
        body: JSON.stringify({
          messageId: request.messageId,
          tenantId: request.tenantId,
          channel: request.channel,
          attempt: request.attempt,
          content: request.content,
          metadata: request.metadata,
        }),
      },
      { timeoutMs: this.settings.timeoutMs, secrets: Object.values(this.settings.headers) },
    );
    if (!outcome.ok) return outcome;
    return { ok: true, status: 'sent', providerMessageId: null, log: outcome.log };
  }

  private headersFor(url: string): Record<string, string> {
    let host: string;
    try {
      host = new URL(url).hostname.toLowerCase();
    } catch {
      return {}; // not a URL: the call fails and no header goes anywhere
    }
    return this.settings.headerHosts.includes(host) ? this.settings.headers : {};
  }
}
