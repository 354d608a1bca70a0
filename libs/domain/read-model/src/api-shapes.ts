/**
 * The JSON the read API answers with. These shapes are the read API's contract: camelCase like
 * the rest of Herald's contract, ISO-8601 timestamps, `id` rather than `_id`, and no storage
 * details (seq bookkeeping, stored pairs).
 */

import { canFollow } from '@herald/delivery-status';
import type {
  Channel,
  DeliveryError,
  DeliveryStatus,
  EventType,
  ProviderFailover,
} from '@herald/messages';
import type { EventDocument } from './event-document';
import { encodeCursor } from './list-query';
import type { MessageDocument } from './message-document';
import { fromPairs } from './stored-values';

export interface ApiMessage {
  id: string;
  tenantId: string;
  status: DeliveryStatus;
  channel: Channel | null;
  /** The provider of the latest attempt: the one that finally sent it, once sent. */
  provider: string | null;
  /** The failover chain the request named; empty when it named one provider. */
  providers: string[];
  recipient: string | null;
  retryPolicy: string | null;
  metadata: Record<string, string>;
  providerMessageId: string | null;
  attempts: number;
  maxAttempts: number | null;
  statusChecks: number;
  lastError: DeliveryError | null;
  nextAttemptAt: string | null;
  requestedAt: string | null;
  queuedAt: string | null;
  firstAttemptAt: string | null;
  lastAttemptAt: string | null;
  sentAt: string | null;
  deliveredAt: string | null;
  undeliveredAt: string | null;
  bouncedAt: string | null;
  notSentAt: string | null;
  canceledAt: string | null;
  resends: number;
  createdAt: string | null;
  updatedAt: string | null;
  /** What POST /v1/messages/{id}/cancel and /resend would do now (see messageActions). */
  actions: MessageActions;
}

export interface MessageActions {
  cancel: boolean;
  resend: boolean;
}

/**
 * Which controls a message in `status` accepts, read off the status machine, so the API, the
 * dashboard and the machine cannot disagree.
 */
export function messageActions(status: DeliveryStatus): MessageActions {
  return {
    cancel: canFollow(status, 'canceled'),
    resend: canFollow(status, 'resend_requested'),
  };
}

export interface ApiEvent {
  id: string;
  messageId: string;
  seq: number;
  type: EventType;
  status: DeliveryStatus;
  attempt: number;
  maxAttempts: number | null;
  occurredAt: string | null;
  nextAttemptAt: string | null;
  providerMessageId: string | null;
  /** The provider an attempt called (null for events that made no call). */
  provider: string | null;
  /** On provider_failover: from, to and why. */
  failover: ProviderFailover | null;
  error: DeliveryError | null;
}

export interface ApiLog {
  /** The eventId of the event that recorded this provider call. */
  id: string;
  messageId: string;
  seq: number;
  type: EventType;
  status: DeliveryStatus;
  attempt: number;
  occurredAt: string | null;
  provider: string | null;
  request: { method: string; url: string; headers: Record<string, string>; body: string | null };
  /** null when no response arrived (network error, timeout). */
  response: { status: number; headers: Record<string, string>; body: string | null } | null;
  durationMs: number;
  error: DeliveryError | null;
}

export interface ApiPage<T> {
  items: T[];
  /** Pass as `cursor` to get the next page; null on the last page. */
  nextCursor: string | null;
}

/**
 * ISO-8601 for a stored time, or null when there is none or it is no time a Date can hold
 * (|ms| > 8.64e15 makes toISOString throw): whatever a record carried, a read never fails.
 */
export function iso(ms: number | null): string | null {
  if (ms === null || !Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return null;
  return new Date(ms).toISOString();
}

export function toApiMessage(doc: MessageDocument): ApiMessage {
  return {
    id: doc.messageId,
    tenantId: doc.tenantId,
    status: doc.status,
    channel: doc.channel,
    provider: doc.provider,
    providers: doc.providers ?? [],
    recipient: doc.recipient,
    retryPolicy: doc.retryPolicy,
    metadata: fromPairs(doc.metadata),
    providerMessageId: doc.providerMessageId ?? null,
    attempts: doc.attempts,
    maxAttempts: doc.maxAttempts,
    statusChecks: doc.statusChecks,
    lastError: doc.lastError,
    nextAttemptAt: iso(doc.nextAttemptAt),
    requestedAt: iso(doc.requestedAt),
    queuedAt: iso(doc.queuedAt),
    firstAttemptAt: iso(doc.firstAttemptAt),
    lastAttemptAt: iso(doc.lastAttemptAt),
    sentAt: iso(doc.sentAt),
    deliveredAt: iso(doc.deliveredAt),
    undeliveredAt: iso(doc.undeliveredAt),
    bouncedAt: iso(doc.bouncedAt),
    notSentAt: iso(doc.notSentAt),
    canceledAt: iso(doc.canceledAt ?? null),
    resends: doc.resends ?? 0,
    createdAt: iso(doc.createdAt),
    updatedAt: iso(doc.updatedAt),
    actions: messageActions(doc.status),
  };
}

/** What every view of an event starts with. */
function eventHead(doc: EventDocument) {
  return {
    id: doc.eventId,
    messageId: doc.messageId,
    seq: doc.seq,
    type: doc.type,
    status: doc.status,
    attempt: doc.attempt,
    occurredAt: iso(doc.occurredAt),
    // Events stored before the field existed lack it.
    provider: doc.provider ?? null,
  };
}

export function toApiEvent(doc: EventDocument): ApiEvent {
  return {
    ...eventHead(doc),
    maxAttempts: doc.maxAttempts,
    nextAttemptAt: iso(doc.nextAttemptAt),
    // Events stored before the field existed lack it.
    providerMessageId: doc.providerMessageId ?? null,
    failover: doc.failover ?? null,
    error: doc.error,
  };
}

/** null for an event that made no provider call, so callers can map and drop. */
export function toApiLog(doc: EventDocument): ApiLog | null {
  if (!doc.log) return null;
  const { request, response } = doc.log;
  return {
    ...eventHead(doc),
    request: {
      method: request.method,
      url: request.url,
      headers: fromPairs(request.headers),
      body: request.body,
    },
    response: response
      ? { status: response.status, headers: fromPairs(response.headers), body: response.body }
      : null,
    durationMs: doc.log.durationMs,
    error: doc.error,
  };
}

/**
 * One page of the list. `docs` is what find(listFilter(q)).sort(LIST_SORT).limit(limit + 1)
 * returned: the extra document only tells whether another page exists.
 */
export function toApiPage(docs: readonly MessageDocument[], limit: number): ApiPage<ApiMessage> {
  const page = docs.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map(toApiMessage),
    nextCursor:
      docs.length > limit && last
        ? encodeCursor({ createdAt: last.createdAt, id: last._id })
        : null,
  };
}
