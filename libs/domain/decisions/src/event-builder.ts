import { statusAfter } from '@herald/delivery-status';
import type { DeliveryError, EventType, MessageEvent, ProviderExchange } from '@herald/messages';

export interface EventFields {
  type: EventType;
  attempt: number;
  maxAttempts?: number | null;
  nextAttemptAt?: number | null;
  error?: DeliveryError | null;
  log?: ProviderExchange | null;
  message?: MessageEvent['message'];
  providerMessageId?: string | null;
  provider?: string | null;
  failover?: MessageEvent['failover'];
}

/**
 * Builds an event whose status follows from its type (the status machine decides, not callers).
 * The event id comes from `base.newId`, so a decision stays a pure function of its inputs.
 */
export function event(
  base: {
    messageId: string;
    tenantId: string;
    seq: number;
    occurredAt: number;
    current: MessageEvent['status'] | null;
    newId: () => string;
  },
  fields: EventFields,
): MessageEvent {
  return {
    eventId: base.newId(),
    messageId: base.messageId,
    tenantId: base.tenantId,
    seq: base.seq,
    type: fields.type,
    status: statusAfter(fields.type, base.current),
    attempt: fields.attempt,
    maxAttempts: fields.maxAttempts ?? null,
    occurredAt: base.occurredAt,
    nextAttemptAt: fields.nextAttemptAt ?? null,
    error: fields.error ?? null,
    log: fields.log ?? null,
    message: fields.message ?? null,
    providerMessageId: fields.providerMessageId ?? null,
    provider: fields.provider ?? null,
    failover: fields.failover ?? null,
  };
}
