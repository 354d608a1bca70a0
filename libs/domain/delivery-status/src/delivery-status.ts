/**
 * The delivery-status machine: the one place that knows which event may follow which status and
 * what status an event leaves behind. Services consult it before they emit an event, so every
 * event carries the right `status`; the projector consults it to flag timelines that break it.
 */

import type { DeliveryStatus, EventType } from '@herald/messages';

export const TERMINAL_STATUSES: readonly DeliveryStatus[] = [
  'delivered',
  'undelivered',
  'bounced',
  'not_sent',
  'canceled',
];

const SEND_OUTCOMES: readonly EventType[] = [
  'delivery_attempted',
  'sent',
  'undelivered',
  'delivered',
  // A message waiting for an attempt can be canceled, or moved on to its next provider.
  'canceled',
  'provider_failover',
];

/**
 * Which events each status accepts; `none` is a message with no event yet.
 *
 * Beyond the plain lifecycle: `queued` also accepts `not_sent`, because the sender may be the
 * first to find that nothing can be attempted (unknown provider, recipient it cannot address)
 * after ingest already queued the message. Once an attempt was made the message can only end
 * `undelivered`, never `not_sent`. `bounced` only follows `sent`: a bounce is what a status check
 * reports about a message the provider accepted.
 *
 * Message controls: a message not yet sent accepts `canceled` (the API's cancel) and
 * `provider_failover` (the sender moving on to the next provider, which leaves the status as it
 * was). A message that ended without reaching its recipient (`undelivered`, `bounced`,
 * `canceled`) accepts `resend_requested`, which queues it again for a fresh run of attempts.
 */
const ALLOWED: Readonly<Record<DeliveryStatus | 'none', readonly EventType[]>> = {
  none: ['queued', 'not_sent'],
  queued: [...SEND_OUTCOMES, 'not_sent'],
  delivery_attempted: SEND_OUTCOMES,
  sent: ['status_check_attempted', 'delivered', 'bounced', 'undelivered'],
  delivered: [],
  undelivered: ['resend_requested'],
  bounced: ['resend_requested'],
  not_sent: [],
  canceled: ['resend_requested'],
};

export function isTerminal(status: DeliveryStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** The events `current` accepts (null: the message has no event yet). */
export function allowedEvents(current: DeliveryStatus | null): readonly EventType[] {
  return ALLOWED[current ?? 'none'];
}

export function canFollow(current: DeliveryStatus | null, type: EventType): boolean {
  return allowedEvents(current).includes(type);
}

/**
 * The status a message has after an event of `type`. It does not check legality (that is
 * `canFollow`'s job), so it is total: a status check leaves the status as it was, and with no
 * status yet it answers `sent`, the only status a check can legally follow.
 */
export function statusAfter(type: EventType, current: DeliveryStatus | null): DeliveryStatus {
  switch (type) {
    case 'status_check_attempted':
      return current ?? 'sent';
    case 'provider_failover':
      return current ?? 'delivery_attempted';
    case 'resend_requested':
      return 'queued';
    case 'queued':
    case 'delivery_attempted':
    case 'sent':
    case 'undelivered':
    case 'not_sent':
    case 'delivered':
    case 'bounced':
    case 'canceled':
      return type;
  }
}

export class IllegalTransitionError extends Error {
  constructor(
    readonly current: DeliveryStatus | null,
    readonly type: EventType,
  ) {
    super(`a ${type} event cannot follow status ${current ?? '(none)'}`);
    this.name = 'IllegalTransitionError';
  }
}

/** For emitters: the status to put in a `type` event, or IllegalTransitionError. */
export function transition(current: DeliveryStatus | null, type: EventType): DeliveryStatus {
  if (!canFollow(current, type)) throw new IllegalTransitionError(current, type);
  return statusAfter(type, current);
}
