/**
 * One message's current state, folded from its events. Everything derives from the events (no
 * clock is read), so dropping the collection and replaying herald.message-events rebuilds every
 * document field for field.
 */

import { canFollow, statusAfter } from '@herald/delivery-status';
import {
  messageKey,
  type Channel,
  type DeliveryError,
  type DeliveryStatus,
  type EventType,
  type MessageEvent,
  type MessageSummary,
} from '@herald/messages';
import { type StoredPair, storableError, storableText, toPairs } from './stored-values';

export interface MessageDocument {
  /** messageKey(tenantId, messageId): a messageId is unique only within its tenant. */
  _id: string;
  messageId: string;
  tenantId: string;
  /** Seq of the last applied event; events at or below it are replays. */
  seq: number;
  status: DeliveryStatus;
  channel: Channel | null;
  /** The provider of the latest attempt (the one that finally sent it), else the first in line. */
  provider: string | null;
  /** The failover chain the request named (empty: just `provider`). Absent on older documents. */
  providers?: string[];
  recipient: string | null;
  retryPolicy: string | null;
  metadata: StoredPair[] | null;
  /** The provider's id for the message, from the send it accepted. */
  providerMessageId: string | null;
  /** Send attempts made: the highest `attempt` of a send event that reached (or tried) a provider. */
  attempts: number;
  maxAttempts: number | null;
  /** Delivery-status checks made (`status_check_attempted` events). */
  statusChecks: number;
  /** The last error seen, kept after a later success so "why did it take 3 attempts" stays answerable. */
  lastError: DeliveryError | null;
  nextAttemptAt: number | null;
  requestedAt: number | null;
  queuedAt: number | null;
  firstAttemptAt: number | null;
  lastAttemptAt: number | null;
  sentAt: number | null;
  deliveredAt: number | null;
  undeliveredAt: number | null;
  bouncedAt: number | null;
  notSentAt: number | null;
  /** When the message was first canceled. Absent on documents from before message controls. */
  canceledAt?: number | null;
  /** How many times it was resent (`resend_requested` events). */
  resends?: number;
  /** requestedAt when known, else the first event's occurredAt; the list's sort key. */
  createdAt: number;
  /** The last applied event's occurredAt. */
  updatedAt: number;
  /**
   * How many seqs were missing when later events were applied. Always 0 for a healthy topic; a
   * non-zero value marks a document built from an incomplete timeline.
   */
  skippedSeqs: number;
}

export interface ApplyResult {
  doc: MessageDocument;
  /** false: the event was at or below doc.seq (a replay or duplicate) and doc is unchanged. */
  applied: boolean;
  /** Seqs missing between doc.seq and this event (0 unless the timeline has a hole). */
  gap: number;
  /**
   * Whether the event is a legal transition from the previous status and carries the status
   * the machine says it should. Illegal events are applied anyway (the topic is the truth); this
   * is for the projector to log and count.
   */
  legal: boolean;
}

const SEND_EVENTS: readonly EventType[] = [
  'delivery_attempted',
  'sent',
  'undelivered',
  'delivered',
];

export function applyEvent(doc: MessageDocument | null, event: MessageEvent): ApplyResult {
  if (doc && event.seq <= doc.seq) return { doc, applied: false, gap: 0, legal: true };

  const previous = doc?.status ?? null;
  const gap = Math.max(0, event.seq - (doc?.seq ?? 0) - 1);
  const base = doc ?? emptyDocument(event);
  const next: MessageDocument = {
    ...withSummary(base, event.message),
    seq: event.seq,
    status: event.status,
    // After `sent`, maxAttempts counts status checks, not sends: the send limit stays.
    maxAttempts: previous === 'sent' ? base.maxAttempts : (event.maxAttempts ?? base.maxAttempts),
    // The latest the provider gave: a resend that is sent again has the new run's id.
    providerMessageId:
      event.providerMessageId == null
        ? base.providerMessageId
        : storableText(event.providerMessageId),
    lastError: event.error ? storableError(event.error) : base.lastError,
    nextAttemptAt: event.nextAttemptAt,
    updatedAt: event.occurredAt,
    skippedSeqs: base.skippedSeqs + gap,
  };

  const at = event.occurredAt;
  // After `sent`, delivered/undelivered report a status check's answer, not a send attempt.
  const isSendAttempt =
    SEND_EVENTS.includes(event.type) &&
    previous !== 'sent' &&
    (event.log !== null || event.error !== null);
  // Written by older senders without it; the summary's provider stands then.
  if (event.provider) next.provider = storableText(event.provider);
  if (isSendAttempt) {
    next.attempts = Math.max(base.attempts, event.attempt);
    next.firstAttemptAt = base.firstAttemptAt ?? at;
    next.lastAttemptAt = at;
  }

  // Each status timestamp records when the message first reached that status.
  switch (event.type) {
    case 'queued':
      next.queuedAt = base.queuedAt ?? at;
      break;
    case 'sent':
      next.sentAt = base.sentAt ?? at;
      break;
    case 'delivered':
      // A provider that confirms synchronously sent and delivered in one step.
      next.sentAt = base.sentAt ?? at;
      next.deliveredAt = base.deliveredAt ?? at;
      break;
    case 'undelivered':
      next.undeliveredAt = base.undeliveredAt ?? at;
      break;
    case 'bounced':
      next.bouncedAt = base.bouncedAt ?? at;
      break;
    case 'not_sent':
      next.notSentAt = base.notSentAt ?? at;
      break;
    case 'status_check_attempted':
      next.statusChecks = base.statusChecks + 1;
      break;
    case 'canceled':
      next.canceledAt = base.canceledAt ?? at;
      break;
    case 'resend_requested':
      next.resends = (base.resends ?? 0) + 1;
      break;
    case 'delivery_attempted':
    case 'provider_failover':
      break;
  }

  const legal =
    canFollow(previous, event.type) && statusAfter(event.type, previous) === event.status;
  return { doc: next, applied: true, gap, legal };
}

/** Folds a timeline in order; replays and duplicates inside it are skipped as applyEvent does. */
export function foldEvents(
  events: readonly MessageEvent[],
  start: MessageDocument | null = null,
): MessageDocument | null {
  let doc = start;
  for (const event of events) doc = applyEvent(doc, event).doc;
  return doc;
}

function emptyDocument(event: MessageEvent): MessageDocument {
  return {
    _id: messageKey(event.tenantId, event.messageId),
    messageId: event.messageId,
    tenantId: event.tenantId,
    seq: 0,
    status: event.status,
    channel: null,
    provider: null,
    recipient: null,
    retryPolicy: null,
    metadata: null,
    providerMessageId: null,
    attempts: 0,
    maxAttempts: null,
    statusChecks: 0,
    lastError: null,
    nextAttemptAt: null,
    requestedAt: null,
    queuedAt: null,
    firstAttemptAt: null,
    lastAttemptAt: null,
    sentAt: null,
    deliveredAt: null,
    undeliveredAt: null,
    bouncedAt: null,
    notSentAt: null,
    canceledAt: null,
    resends: 0,
    createdAt: event.occurredAt,
    updatedAt: event.occurredAt,
    skippedSeqs: 0,
  };
}

/** The summary fills what is still unknown; what a message is never changes once known. */
function withSummary(doc: MessageDocument, summary: MessageSummary | null): MessageDocument {
  if (!summary) return doc;
  const requestedAt = doc.requestedAt ?? summary.requestedAt;
  return {
    ...doc,
    channel: doc.channel ?? summary.channel,
    provider: doc.provider ?? storableText(summary.provider),
    providers: doc.providers ?? (summary.providers ?? []).map(storableText),
    recipient: doc.recipient ?? storableText(summary.recipient),
    retryPolicy: doc.retryPolicy ?? summary.retryPolicy,
    metadata: doc.metadata ?? toPairs(summary.metadata),
    requestedAt,
    createdAt: doc.requestedAt === null ? requestedAt : doc.createdAt,
  };
}
