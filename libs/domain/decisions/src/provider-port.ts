import type { Channel, DeliveryError, ProviderExchange } from '@herald/messages';

/** What a provider adapter needs to make one send attempt. */
export interface SendRequest {
  messageId: string;
  tenantId: string;
  channel: Channel;
  /** Unredacted: the adapter is the only place that sees credentials in a recipient. */
  recipient: string;
  /**
   * The message body. Keys adapters read: `subject`, `text`, `html` (email); `text` (sms,
   * chat); `title`, `text` (push; every other key goes along as push data); in_app stores all.
   */
  content: Record<string, string>;
  metadata: Record<string, string>;
  attempt: number;
}

export type SendResult =
  | {
      ok: true;
      /** `delivered` where the provider confirms delivery synchronously. */
      status: 'sent' | 'delivered';
      /** The provider's id for the message (Twilio sid, SendGrid X-Message-Id, apns-id…). */
      providerMessageId: string | null;
      log: ProviderExchange;
    }
  | Failure;

/** A failed call, classified; shared by sends and status checks. */
export interface Failure {
  ok: false;
  error: DeliveryError;
  /** A provider's Retry-After (or documented minimum back-off), in real ms from now. */
  retryAfterMs?: number;
  /** Null only when no request could be made (e.g. invalid content). */
  log: ProviderExchange | null;
}

/** What a status check needs: the id the provider gave the message when it accepted it. */
export interface StatusCheckRequest {
  messageId: string;
  tenantId: string;
  channel: Channel;
  recipient: string;
  providerMessageId: string;
  /** 1 for the first check. */
  attempt: number;
}

/**
 * A status check's answer. `pending`: the provider has no final status yet (Twilio `sending`,
 * SendGrid `processed`), so the check is retried by the policy. `bounced`/`undelivered` carry
 * the provider's reason as an error (category `non_retryable`).
 */
export type StatusCheckResult =
  | { ok: true; outcome: 'delivered'; log: ProviderExchange }
  | { ok: true; outcome: 'pending'; providerStatus: string; log: ProviderExchange }
  | { ok: true; outcome: 'bounced' | 'undelivered'; error: DeliveryError; log: ProviderExchange }
  | Failure;

/**
 * One provider's API. A new provider is one adapter file plus its registration in
 * provider-registry.ts. send() and checkStatus() never throw: every failure comes back
 * classified, with the exchange already redacted.
 */
export interface ProviderAdapter {
  readonly name: string;
  readonly channels: readonly Channel[];
  send(request: SendRequest): Promise<SendResult>;
  /** Present only on providers that can report delivery after accepting a message. */
  checkStatus?(request: StatusCheckRequest): Promise<StatusCheckResult>;
  /** Releases pooled connections (SMTP pools, HTTP/2 sessions) at shutdown. */
  close?(): Promise<void>;
}

/** What the ingest decision needs to know of the configured providers (ProviderRegistry). */
export interface ProviderCatalog {
  /** Why `provider` cannot carry a message on `channel`, or null when it can. */
  problemWith(provider: string, channel: Channel): string | null;
}
