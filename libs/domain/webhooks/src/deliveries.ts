/**
 * Webhook deliveries as decisions: what the fan-out, the delivery worker and the API record,
 * given what happened. `decide`-shaped and pure (clock readings and ids are passed in): the
 * worker makes the call, these say which events follow, whether and when to retry, and what
 * changes for the endpoint.
 */

import type { ProviderExchange } from '@herald/messages';
import { BUILT_IN_POLICIES, nextAttempt, type Schedule } from '@herald/retry-policy';
import { FAILING_DISABLES_AFTER_MS, type WebhookEndpoint } from './endpoints';

/** A delivery on herald.webhook-deliveries (and its delay tiers): one event for one endpoint. */
export interface WebhookDeliveryTask {
  /** Also the `webhook-id` header: the same for every attempt and resend of the delivery. */
  deliveryId: string;
  endpointId: string;
  tenantId: string;
  messageId: string;
  /** e.g. `message.sent`. */
  eventType: string;
  /** The message event this delivery carries. */
  messageEventId: string;
  messageOccurredAt: number;
  /** The JSON body, fixed when the delivery is created. */
  payload: string;
  /** 1 for the first run of attempts, +1 per resend. */
  run: number;
  /** The attempt this task makes, 1-based within its run. */
  attempt: number;
  /** Seq of the last event this delivery recorded; the next is seq + 1. */
  seq: number;
  /** When attempt 1 of this run started (the schedule counts from it); null before it. */
  firstAttemptAt: number | null;
  dueAt: number;
}

export const DELIVERY_EVENT_TYPES = [
  'created',
  'attempted',
  'succeeded',
  'failed',
  'dropped',
  'resent',
  'endpoint_disabled',
] as const;
export type DeliveryEventType = (typeof DELIVERY_EVENT_TYPES)[number];

export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'succeeded', 'failed', 'dropped'] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];

/** One immutable fact on herald.webhook-delivery-events, keyed by its endpoint. */
export interface WebhookDeliveryEvent {
  eventId: string;
  /** null for an endpoint's own notice (`endpoint_disabled`). */
  deliveryId: string | null;
  endpointId: string;
  tenantId: string;
  /** 1, 2, 3… per delivery; 0 for an endpoint notice. */
  seq: number;
  type: DeliveryEventType;
  /** The delivery's status after this event; null for an endpoint notice. */
  status: WebhookDeliveryStatus | null;
  occurredAt: number;
  run: number;
  /** The attempt this event records (0 when it records none). */
  attempt: number;
  messageId: string | null;
  messageEventId: string | null;
  eventType: string | null;
  /** The JSON body: on `created` only, so the projection can resend it. */
  payload: string | null;
  nextAttemptAt: number | null;
  /** The call, redacted and bounded like a provider call's; null when none was made. */
  log: ProviderExchange | null;
  error: { code: string; message: string } | null;
  /** Why a delivery failed or was dropped, or why an endpoint was disabled. */
  reason: string | null;
}

/** What one call to an endpoint came to. */
export interface WebhookCallResult {
  ok: boolean;
  /** The HTTP status, or null when no answer came (timeout, refused, reset…). */
  status: number | null;
  error: { code: string; message: string } | null;
  /** The endpoint's Retry-After, in real ms. */
  retryAfterMs: number | null;
  log: ProviderExchange | null;
  startedAt: number;
  finishedAt: number;
}

/**
 * The seed's schedule, the delays of the `webhook` retry policy: 5, 10 … 900 s, then every
 * 15 minutes, 296 attempts in all. The count ends it, not the clock: each retry is due its
 * delay after the previous attempt ended, so the time calls take (up to the 15 s timeout
 * each) never costs a delivery its last attempts. Nominally the last comes 259,095 s after
 * the first; the window only bounds the worst case (295 timeouts add 74 minutes).
 */
export const WEBHOOK_SCHEDULE: Schedule = {
  ...BUILT_IN_POLICIES.webhook.send,
  maxRetries: 295,
  windowMs: 96 * 3600 * 1000,
};

export interface DeliveryDeps {
  timeScale: number;
  random: () => number;
  newId: () => string;
}

/** What follows an attempt. */
export interface AttemptDecision {
  events: WebhookDeliveryEvent[];
  /** The next attempt, due later; null when the delivery is over. */
  retry: WebhookDeliveryTask | null;
  /** The endpoint's run of failures, when it changes: a time it began, or null (it ended). */
  failingSince?: number | null;
  /** Set when the endpoint must be disabled now. */
  disable: { reason: 'gone' | 'failing'; message: string } | null;
}

function deliveryEvent(
  task: WebhookDeliveryTask,
  fields: Pick<WebhookDeliveryEvent, 'type' | 'status' | 'occurredAt'> &
    Partial<WebhookDeliveryEvent>,
  newId: () => string,
): WebhookDeliveryEvent {
  return {
    eventId: newId(),
    deliveryId: task.deliveryId,
    endpointId: task.endpointId,
    tenantId: task.tenantId,
    seq: task.seq + 1,
    run: task.run,
    attempt: 0,
    messageId: task.messageId,
    messageEventId: task.messageEventId,
    eventType: task.eventType,
    payload: null,
    nextAttemptAt: null,
    log: null,
    error: null,
    reason: null,
    ...fields,
  };
}

/** The notice that an endpoint was disabled, recorded beside its deliveries' events. */
export function endpointDisabled(
  endpoint: Pick<WebhookEndpoint, 'id' | 'tenantId'>,
  reason: string,
  now: number,
  newId: () => string,
): WebhookDeliveryEvent {
  return {
    eventId: newId(),
    deliveryId: null,
    endpointId: endpoint.id,
    tenantId: endpoint.tenantId,
    seq: 0,
    type: 'endpoint_disabled',
    status: null,
    occurredAt: now,
    run: 0,
    attempt: 0,
    messageId: null,
    messageEventId: null,
    eventType: null,
    payload: null,
    nextAttemptAt: null,
    log: null,
    error: null,
    reason,
  };
}

/** A new delivery of a message event to an endpoint: its `created` event and its first task. */
export function newDelivery(
  fields: Omit<WebhookDeliveryTask, 'run' | 'attempt' | 'seq' | 'firstAttemptAt' | 'dueAt'>,
  now: number,
  newId: () => string,
): { event: WebhookDeliveryEvent; task: WebhookDeliveryTask } {
  const task: WebhookDeliveryTask = {
    ...fields,
    run: 1,
    attempt: 1,
    seq: 0,
    firstAttemptAt: null,
    dueAt: now,
  };
  const event = deliveryEvent(
    task,
    { type: 'created', status: 'pending', occurredAt: now, payload: fields.payload },
    newId,
  );
  return { event, task: { ...task, seq: event.seq } };
}

/** A delivery whose endpoint is disabled or gone: recorded, never attempted. */
export function droppedDelivery(
  task: WebhookDeliveryTask,
  reason: string,
  now: number,
  newId: () => string,
): WebhookDeliveryEvent {
  return deliveryEvent(
    task,
    { type: 'dropped', status: 'dropped', occurredAt: now, reason },
    newId,
  );
}

/**
 * A finished delivery sent again (resend, recover): a `resent` event, then a new run of the
 * whole schedule with the same webhook-id.
 */
export function resentDelivery(
  delivery: Omit<WebhookDeliveryTask, 'attempt' | 'firstAttemptAt' | 'dueAt'>,
  now: number,
  newId: () => string,
): { event: WebhookDeliveryEvent; task: WebhookDeliveryTask } {
  const task: WebhookDeliveryTask = {
    ...delivery,
    run: delivery.run + 1,
    attempt: 1,
    firstAttemptAt: null,
    dueAt: now,
  };
  const event = deliveryEvent(
    task,
    { type: 'resent', status: 'pending', occurredAt: now, run: task.run },
    newId,
  );
  return { event, task: { ...task, seq: event.seq } };
}

/**
 * What follows one attempt. 2xx: succeeded. 410: failed, and the endpoint is disabled. Any
 * other answer, a timeout or a network error: the next attempt on the seed's schedule (scaled
 * by the time scale, never before the endpoint's Retry-After), or failed once the schedule is
 * spent; and an endpoint whose failures have run for 5 days (scaled) is disabled.
 */
export function afterWebhookAttempt(
  task: WebhookDeliveryTask,
  result: WebhookCallResult,
  endpoint: Pick<WebhookEndpoint, 'id' | 'tenantId' | 'failingSince'>,
  deps: DeliveryDeps,
): AttemptDecision {
  const now = result.finishedAt;
  const call = {
    occurredAt: now,
    attempt: task.attempt,
    log: result.log,
    error: result.error,
  };
  if (result.ok) {
    return {
      events: [
        deliveryEvent(task, { type: 'succeeded', status: 'succeeded', ...call }, deps.newId),
      ],
      retry: null,
      ...(endpoint.failingSince !== null ? { failingSince: null } : {}),
      disable: null,
    };
  }

  const failed = (reason: string) =>
    deliveryEvent(task, { type: 'failed', status: 'failed', reason, ...call }, deps.newId);
  if (result.status === 410) {
    const message = 'the endpoint answered 410 Gone';
    return {
      events: [
        failed(`${message}; the endpoint is disabled`),
        endpointDisabled(endpoint, message, now, deps.newId),
      ],
      retry: null,
      disable: { reason: 'gone', message },
    };
  }

  const failingSince = endpoint.failingSince ?? result.startedAt;
  const changed = endpoint.failingSince === null ? { failingSince } : {};
  if (now - failingSince >= FAILING_DISABLES_AFTER_MS * deps.timeScale) {
    const message = 'every delivery to the endpoint has failed for 5 days';
    return {
      events: [
        failed(`${message}; the endpoint is disabled`),
        endpointDisabled(endpoint, message, now, deps.newId),
      ],
      retry: null,
      ...changed,
      disable: { reason: 'failing', message },
    };
  }

  const firstAttemptAt = task.firstAttemptAt ?? result.startedAt;
  const next = nextAttempt(WEBHOOK_SCHEDULE, {
    failedAttempt: task.attempt,
    firstAttemptAt,
    now,
    timeScale: deps.timeScale,
    retryAfterMs: result.retryAfterMs,
    random: deps.random,
  });
  if (next.kind === 'exhausted') {
    return { events: [failed(next.reason)], retry: null, ...changed, disable: null };
  }
  const event = deliveryEvent(
    task,
    { type: 'attempted', status: 'pending', nextAttemptAt: next.dueAt, ...call },
    deps.newId,
  );
  return {
    events: [event],
    retry: { ...task, attempt: next.attempt, seq: event.seq, firstAttemptAt, dueAt: next.dueAt },
    ...changed,
    disable: null,
  };
}
