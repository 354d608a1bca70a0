import type { Channel, DeliveryError, ProviderExchange } from '@herald/messages';

/** What a provider adapter needs to make one send attempt. */
export interface SendRequest {
  messageId: string;
  tenantId: string;
  channel: Channel;
  /** Unredacted: the adapter is the only place that sees credentials in a recipient. */
  recipient: string;
  content: Record<string, string>;
  metadata: Record<string, string>;
  attempt: number;
}

export type SendResult =
  | {
      ok: true;
      /** `delivered` where the provider confirms delivery synchronously. */
      status: 'sent' | 'delivered';
      providerMessageId: string | null;
      log: ProviderExchange;
    }
  | {
      ok: false;
      error: DeliveryError;
      /** A provider's Retry-After, in ms from now. */
      retryAfterMs?: number;
      /** Null only when no request could be built. */
      log: ProviderExchange | null;
    };

/**
 * One provider's API. A new provider is one adapter file plus its registration in
 * provider-registry.ts. send() never throws: every failure comes back classified, with the
 * exchange already redacted.
 */
export interface ProviderAdapter {
  readonly name: string;
  readonly channels: readonly Channel[];
  send(request: SendRequest): Promise<SendResult>;
}
