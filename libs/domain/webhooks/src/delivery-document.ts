/**
 * The deliveries projection: after each event, a snapshot of its delivery (its state folded so
 * far, and what the event recorded). Snapshots are only ever inserted, keyed by delivery and
 * seq: on FerretDB v1 an update or a read by `_id` scans the collection, while inserts in bulk
 * are cheap (README, Notes for contributors). A delivery's state is its latest snapshot; its
 * attempts are the snapshots of attempt events. Everything derives from the events (no clock),
 * so dropping the collection and replaying herald.webhook-delivery-events rebuilds it.
 */

import {
  fromPairs,
  iso,
  storableText,
  storedExchange,
  type StoredExchange,
} from '@herald/read-model';
import type { DeliveryEventType, WebhookDeliveryEvent, WebhookDeliveryStatus } from './deliveries';

export interface DeliverySnapshot {
  /** `${deliveryId}:${seq}`: a replayed event is the same snapshot. */
  _id: string;
  /** The delivery id (the `webhook-id`). */
  deliveryId: string;
  tenantId: string;
  endpointId: string;
  messageId: string | null;
  messageEventId: string | null;
  eventType: string | null;
  /**
   * The JSON body, kept so a resend sends the same bytes: on the first snapshot only (every
   * attempt's would repeat it), so read it from snapshotId(deliveryId, 1).
   */
  payload: string | null;
  status: WebhookDeliveryStatus;
  run: number;
  /** Attempts made over every run. */
  attempts: number;
  lastResponseStatus: number | null;
  lastResponseBody: string | null;
  lastError: { code: string; message: string } | null;
  reason: string | null;
  nextAttemptAt: number | null;
  createdAt: number;
  updatedAt: number;
  /** When it last ended (succeeded, failed or dropped); null while pending. */
  finishedAt: number | null;
  /** Seq of the event this snapshot follows. */
  seq: number;
  /** What that event recorded. */
  last: {
    type: DeliveryEventType;
    occurredAt: number;
    run: number;
    attempt: number;
    log: StoredExchange | null;
    error: { code: string; message: string } | null;
  };
}

const ATTEMPT_TYPES: readonly DeliveryEventType[] = ['attempted', 'succeeded', 'failed'];

/** How much of a response body the delivery summary shows; the attempt keeps what was read. */
const BODY_EXCERPT_CHARS = 1_000;

export function snapshotId(deliveryId: string, seq: number): string {
  return `${deliveryId}:${seq}`;
}

/** Whether the event records a call to the endpoint. */
export function isAttempt(event: Pick<WebhookDeliveryEvent, 'type'>): boolean {
  return ATTEMPT_TYPES.includes(event.type);
}

function storableCause(error: { code: string; message: string } | null) {
  return error ? { code: storableText(error.code), message: storableText(error.message) } : null;
}

/**
 * The snapshot after `event`, given the one before it (null for a delivery's first event); null
 * when the event changes no delivery (an endpoint notice) or is a replay (seq at or below).
 */
export function nextSnapshot(
  previous: DeliverySnapshot | null,
  event: WebhookDeliveryEvent,
): DeliverySnapshot | null {
  if (event.deliveryId === null || event.status === null) return null;
  if (previous && event.seq <= previous.seq) return null;
  const base = previous ?? {
    deliveryId: event.deliveryId,
    tenantId: event.tenantId,
    endpointId: event.endpointId,
    messageId: event.messageId,
    messageEventId: event.messageEventId,
    eventType: event.eventType,
    payload: null,
    attempts: 0,
    lastResponseStatus: null,
    lastResponseBody: null,
    lastError: null,
    reason: null,
    createdAt: event.occurredAt,
  };
  const attempt = isAttempt(event);
  const body = event.log?.response?.body ?? null;
  return {
    ...base,
    _id: snapshotId(event.deliveryId, event.seq),
    seq: event.seq,
    status: event.status,
    run: event.run,
    updatedAt: event.occurredAt,
    nextAttemptAt: event.nextAttemptAt,
    finishedAt: event.status === 'pending' ? null : event.occurredAt,
    payload: event.type === 'created' ? event.payload : null,
    reason:
      event.type === 'resent'
        ? null
        : event.reason === null
          ? base.reason
          : storableText(event.reason),
    attempts: attempt ? base.attempts + 1 : base.attempts,
    lastResponseStatus: attempt ? (event.log?.response?.status ?? null) : base.lastResponseStatus,
    lastResponseBody: attempt
      ? body === null
        ? null
        : storableText(body.slice(0, BODY_EXCERPT_CHARS))
      : base.lastResponseBody,
    lastError: attempt ? storableCause(event.error) : base.lastError,
    last: {
      type: event.type,
      occurredAt: event.occurredAt,
      run: event.run,
      attempt: event.attempt,
      // The request body is the payload, kept once on the first snapshot.
      log: event.log
        ? storedExchange({ ...event.log, request: { ...event.log.request, body: null } })
        : null,
      error: storableCause(event.error),
    },
  };
}

/** The latest snapshot of each delivery among `snapshots`. */
export function latestSnapshots(snapshots: readonly DeliverySnapshot[]): DeliverySnapshot[] {
  const latest = new Map<string, DeliverySnapshot>();
  for (const snapshot of snapshots) {
    const seen = latest.get(snapshot.deliveryId);
    if (!seen || snapshot.seq > seen.seq) latest.set(snapshot.deliveryId, snapshot);
  }
  return [...latest.values()];
}

/** The deliveries API's shapes: ISO times, `id` rather than `_id`, no storage bookkeeping. */
export interface ApiWebhookDelivery {
  id: string;
  endpointId: string;
  messageId: string | null;
  messageEventId: string | null;
  eventType: string | null;
  status: WebhookDeliveryStatus;
  run: number;
  attempts: number;
  lastResponseStatus: number | null;
  lastResponseBody: string | null;
  lastError: { code: string; message: string } | null;
  reason: string | null;
  nextAttemptAt: string | null;
  createdAt: string | null;
  updatedAt: string | null;
  finishedAt: string | null;
}

export interface ApiWebhookAttempt {
  seq: number;
  run: number;
  attempt: number;
  outcome: DeliveryEventType;
  occurredAt: string | null;
  request: { method: string; url: string; headers: Record<string, string> } | null;
  response: { status: number; headers: Record<string, string>; body: string | null } | null;
  durationMs: number | null;
  error: { code: string; message: string } | null;
}

export function toApiDelivery(doc: DeliverySnapshot): ApiWebhookDelivery {
  return {
    id: doc.deliveryId,
    endpointId: doc.endpointId,
    messageId: doc.messageId,
    messageEventId: doc.messageEventId,
    eventType: doc.eventType,
    status: doc.status,
    run: doc.run,
    attempts: doc.attempts,
    lastResponseStatus: doc.lastResponseStatus,
    lastResponseBody: doc.lastResponseBody,
    lastError: doc.lastError,
    reason: doc.reason,
    nextAttemptAt: iso(doc.nextAttemptAt),
    createdAt: iso(doc.createdAt),
    updatedAt: iso(doc.updatedAt),
    finishedAt: iso(doc.finishedAt),
  };
}

export function toApiAttempt(doc: DeliverySnapshot): ApiWebhookAttempt {
  const { log } = doc.last;
  return {
    seq: doc.seq,
    run: doc.last.run,
    attempt: doc.last.attempt,
    outcome: doc.last.type,
    occurredAt: iso(doc.last.occurredAt),
    request: log
      ? {
          method: log.request.method,
          url: log.request.url,
          headers: fromPairs(log.request.headers),
        }
      : null,
    response: log?.response
      ? {
          status: log.response.status,
          headers: fromPairs(log.response.headers),
          body: log.response.body,
        }
      : null,
    durationMs: log ? log.durationMs : null,
    error: doc.last.error,
  };
}
