/**
 * The records of CONTRACT.md as TypeScript types. They mirror schemas/*.avsc field for field
 * (timestamps are epoch milliseconds); the Avro schemas stay the single source of truth for
 * what is on the wire.
 */

export const CHANNELS = ['email', 'sms', 'push', 'chat', 'in_app', 'webhook'] as const;
export type Channel = (typeof CHANNELS)[number];

export const EVENT_TYPES = [
  'queued',
  'delivery_attempted',
  'sent',
  'undelivered',
  'status_check_attempted',
  'delivered',
  'bounced',
  'not_sent',
  // Message controls (docs/contract.md, "Message controls").
  'canceled',
  'resend_requested',
  'provider_failover',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const DELIVERY_STATUSES = [
  'queued',
  'delivery_attempted',
  'sent',
  'delivered',
  'undelivered',
  'bounced',
  'not_sent',
  'canceled',
] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export const ERROR_CATEGORIES = ['network', 'retryable', 'non_retryable', 'internal'] as const;
export type ErrorCategory = (typeof ERROR_CATEGORIES)[number];

export interface MessageRequested {
  messageId: string;
  tenantId: string;
  channel: Channel;
  /** The provider tried first. */
  provider: string;
  /**
   * The failover chain, `provider` first: the next is tried when one gives up. Empty (records
   * written before the field existed, or a request naming one provider) means `[provider]`.
   */
  providers: string[];
  recipient: string;
  content: Record<string, string>;
  retryPolicy: string | null;
  metadata: Record<string, string>;
  requestedAt: number;
}

/**
 * A request as decoded with its writer's schema: records written before `providers` existed
 * lack it. Applied where requests are decoded, so the decisions can rely on the field.
 */
export function withRequestDefaults(
  request: Omit<MessageRequested, 'providers'> & { providers?: string[] },
): MessageRequested {
  return { ...request, providers: request.providers ?? [] };
}

/** The providers a request will try in order: its `providers`, or just its `provider`. */
export function providerChain(request: {
  provider: string;
  providers: readonly string[];
}): string[] {
  return request.providers.length > 0 ? [...request.providers] : [request.provider];
}

export interface DeliveryError {
  category: ErrorCategory;
  code: string;
  message: string;
}

export interface ProviderExchange {
  request: { method: string; url: string; headers: Record<string, string>; body: string | null };
  response: { status: number; headers: Record<string, string>; body: string | null } | null;
  durationMs: number;
}

/** What a message is; carried by `queued` and `not_sent` so the read model needs only events. */
export interface MessageSummary {
  channel: Channel;
  provider: string;
  /** The failover chain (empty: just `provider`). */
  providers: string[];
  /** Redacted: a credential in a recipient URL never reaches events or the read model. */
  recipient: string;
  retryPolicy: string | null;
  requestedAt: number;
  metadata: Record<string, string>;
}

export interface MessageEvent {
  eventId: string;
  messageId: string;
  tenantId: string;
  seq: number;
  type: EventType;
  status: DeliveryStatus;
  attempt: number;
  maxAttempts: number | null;
  occurredAt: number;
  nextAttemptAt: number | null;
  error: DeliveryError | null;
  log: ProviderExchange | null;
  message: MessageSummary | null;
  /** The provider's id for the message once a send was accepted (Twilio sid, apns-id…). */
  providerMessageId: string | null;
  /** The provider an attempt event's call went to (null on events that made no attempt). */
  provider: string | null;
  /** On `provider_failover`: the provider given up on, the next one, and why. */
  failover: ProviderFailover | null;
}

export interface ProviderFailover {
  from: string;
  to: string;
  reason: string;
}

/**
 * A message's identity inside Herald: messageId is unique only within its tenant, so claims,
 * read-model documents and feed items are keyed by both. The tenant is percent-encoded, so the
 * first ':' always ends it and two different pairs never give the same key ('a:b' + 'c' and
 * 'a' + 'b:c' stay apart). Readable for ordinary ids: messageKey('acme', 'm-1') is 'acme:m-1'.
 */
export function messageKey(tenantId: string, messageId: string): string {
  return `${encodeURIComponent(tenantId)}:${messageId}`;
}

/**
 * Events grouped by message (messageKey), each group in the order given: the same messageId
 * under two tenants is two messages.
 */
export function eventsByMessage(events: readonly MessageEvent[]): Map<string, MessageEvent[]> {
  const messages = new Map<string, MessageEvent[]>();
  for (const event of events) {
    const key = messageKey(event.tenantId, event.messageId);
    const timeline = messages.get(key);
    if (timeline) timeline.push(event);
    else messages.set(key, [event]);
  }
  return messages;
}
