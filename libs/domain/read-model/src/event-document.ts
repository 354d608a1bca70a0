/**
 * Every event as stored for the timeline and logs endpoints. The `_id` is derived from the
 * message and seq, so inserting a replayed event is a duplicate-key no-op.
 */

import {
  messageKey,
  type Channel,
  type MessageEvent,
  type ProviderExchange,
} from '@herald/messages';
import { type StoredPair, storableError, storableText, toPairs } from './stored-values';

export interface StoredExchange {
  request: { method: string; url: string; headers: StoredPair[]; body: string | null };
  response: { status: number; headers: StoredPair[]; body: string | null } | null;
  durationMs: number;
}

export interface StoredSummary {
  channel: Channel;
  provider: string;
  /** The failover chain; absent on events stored before it existed. */
  providers?: string[];
  recipient: string;
  retryPolicy: string | null;
  requestedAt: number;
  metadata: StoredPair[];
}

/** A MessageEvent as stored: maps become pairs, and `_id` is the message's key and seq. */
export interface EventDocument extends Omit<MessageEvent, 'log' | 'message'> {
  /** `${messageKey(tenantId, messageId)}:${seq}` */
  _id: string;
  log: StoredExchange | null;
  message: StoredSummary | null;
}

/** `key` is the message document's _id, messageKey(tenantId, messageId). */
export function eventDocumentId(key: string, seq: number): string {
  return `${key}:${seq}`;
}

export function toEventDocument(event: MessageEvent): EventDocument {
  return {
    _id: eventDocumentId(messageKey(event.tenantId, event.messageId), event.seq),
    eventId: event.eventId,
    messageId: event.messageId,
    tenantId: event.tenantId,
    seq: event.seq,
    type: event.type,
    status: event.status,
    attempt: event.attempt,
    maxAttempts: event.maxAttempts,
    occurredAt: event.occurredAt,
    nextAttemptAt: event.nextAttemptAt,
    providerMessageId:
      event.providerMessageId === null ? null : storableText(event.providerMessageId),
    error: event.error ? storableError(event.error) : null,
    // Events written before these fields existed lack them (decoded with the writer's schema).
    provider: event.provider == null ? null : storableText(event.provider),
    failover: event.failover
      ? {
          from: storableText(event.failover.from),
          to: storableText(event.failover.to),
          reason: storableText(event.failover.reason),
        }
      : null,
    log: event.log ? storedExchange(event.log) : null,
    message: event.message
      ? {
          channel: event.message.channel,
          provider: storableText(event.message.provider),
          providers: (event.message.providers ?? []).map(storableText),
          recipient: storableText(event.message.recipient),
          retryPolicy: event.message.retryPolicy,
          requestedAt: event.message.requestedAt,
          metadata: toPairs(event.message.metadata),
        }
      : null,
  };
}

/** A provider exchange as stored: header maps become pairs, NUL-free text. */
export function storedExchange(log: ProviderExchange): StoredExchange {
  const { request, response } = log;
  return {
    request: {
      method: request.method,
      url: storableText(request.url),
      headers: toPairs(request.headers),
      body: request.body === null ? null : storableText(request.body),
    },
    response: response
      ? {
          status: response.status,
          headers: toPairs(response.headers),
          body: response.body === null ? null : storableText(response.body),
        }
      : null,
    durationMs: log.durationMs,
  };
}
