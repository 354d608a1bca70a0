/**
 * The deliveries projection: each delivery's state folded from its events, and each attempt as
 * its own document. Everything derives from the events (no clock), so dropping the collections
 * and replaying herald.webhook-delivery-events rebuilds them field for field.
 */

import {
  fromPairs,
  iso,
  storableText,
  storedExchange,
  type StoredExchange,
} from '@herald/read-model';
import type { DeliveryEventType, WebhookDeliveryEvent, WebhookDeliveryStatus } from './deliveries';

export interface DeliveryDocument {
  /** The delivery id (the `webhook-id`). */
  _id: string;
  tenantId: string;
  endpointId: string;
  messageId: string | null;
  messageEventId: string | null;
  eventType: string | null;
  /** The JSON body, kept so a resend sends the same bytes. */
  payload: string | null;
  status: WebhookDeliveryStatus;
  run: number;
  /** Attempts made over every run. */
  attempts: number;
  /** Attempt of the current run the last event recorded. */
  attempt: number;
  lastResponseStatus: number | null;
  lastResponseBody: string | null;
  lastError: { code: string; message: string } | null;
  reason: string | null;
  nextAttemptAt: number | null;
  createdAt: number;
  updatedAt: number;
  /** When it last ended (succeeded, failed or dropped); null while pending. */
  finishedAt: number | null;
  /** Seq of the last applied event; events at or below it are replays. */
  seq: number;
}

export interface AttemptDocument {
  /** `${deliveryId}:${seq}`: a replayed event is the same document. */
  _id: string;
  deliveryId: string;
  endpointId: string;
  tenantId: string;
  seq: number;
  run: number;
  attempt: number;
  type: DeliveryEventType;
  occurredAt: number;
  log: StoredExchange | null;
  error: { code: string; message: string } | null;
}

const ATTEMPT_TYPES: readonly DeliveryEventType[] = ['attempted', 'succeeded', 'failed'];

/** How much of a response body the delivery summary shows; the attempt keeps what was read. */
const BODY_EXCERPT_CHARS = 1_000;

export function attemptDocumentId(deliveryId: string, seq: number): string {
  return `${deliveryId}:${seq}`;
}

/** Whether the event records a call to the endpoint (an attempt document). */
export function isAttempt(event: WebhookDeliveryEvent): boolean {
  return event.deliveryId !== null && ATTEMPT_TYPES.includes(event.type);
}

export function toAttemptDocument(event: WebhookDeliveryEvent): AttemptDocument {
  return {
    _id: attemptDocumentId(event.deliveryId ?? '', event.seq),
    deliveryId: event.deliveryId ?? '',
    endpointId: event.endpointId,
    tenantId: event.tenantId,
    seq: event.seq,
    run: event.run,
    attempt: event.attempt,
    type: event.type,
    occurredAt: event.occurredAt,
    log: event.log ? storedExchange(event.log) : null,
    error: event.error
      ? { code: storableText(event.error.code), message: storableText(event.error.message) }
      : null,
  };
}

/**
 * The delivery after `event`, or the document unchanged when the event is a replay (seq at or
 * below the document's). Endpoint notices change no delivery.
 */
export function applyDeliveryEvent(
  doc: DeliveryDocument | null,
  event: WebhookDeliveryEvent,
): DeliveryDocument | null {
  if (event.deliveryId === null || event.status === null) return doc;
  if (doc && event.seq <= doc.seq) return doc;
  const base: DeliveryDocument = doc ?? {
    _id: event.deliveryId,
    tenantId: event.tenantId,
    endpointId: event.endpointId,
    messageId: event.messageId,
    messageEventId: event.messageEventId,
    eventType: event.eventType,
    payload: null,
    status: 'pending',
    run: 1,
    attempts: 0,
    attempt: 0,
    lastResponseStatus: null,
    lastResponseBody: null,
    lastError: null,
    reason: null,
    nextAttemptAt: null,
    createdAt: event.occurredAt,
    updatedAt: event.occurredAt,
    finishedAt: null,
    seq: 0,
  };
  const next: DeliveryDocument = {
    ...base,
    seq: event.seq,
    status: event.status,
    run: event.run,
    updatedAt: event.occurredAt,
    nextAttemptAt: event.nextAttemptAt,
    reason: event.reason === null ? base.reason : storableText(event.reason),
    finishedAt: event.status === 'pending' ? null : event.occurredAt,
  };
  if (event.type === 'created' && event.payload !== null) next.payload = event.payload;
  if (event.type === 'resent') next.reason = null;
  if (isAttempt(event)) {
    const body = event.log?.response?.body ?? null;
    next.attempts = base.attempts + 1;
    next.attempt = event.attempt;
    next.lastResponseStatus = event.log?.response?.status ?? null;
    next.lastResponseBody = body === null ? null : storableText(body.slice(0, BODY_EXCERPT_CHARS));
    next.lastError = event.error
      ? { code: storableText(event.error.code), message: storableText(event.error.message) }
      : null;
  }
  return next;
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

export function toApiDelivery(doc: DeliveryDocument): ApiWebhookDelivery {
  return {
    id: doc._id,
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

export function toApiAttempt(doc: AttemptDocument): ApiWebhookAttempt {
  const log = doc.log;
  return {
    seq: doc.seq,
    run: doc.run,
    attempt: doc.attempt,
    outcome: doc.type,
    occurredAt: iso(doc.occurredAt),
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
    error: doc.error,
  };
}
