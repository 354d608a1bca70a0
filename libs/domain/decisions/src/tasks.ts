import { providerChain, type MessageRequested } from '@herald/messages';

// The internal records the decisions hand from one step to the next, through Kafka: what the
// sender attempts and what the status checker checks. Their Avro schemas are in schemas/.

/** The internal record on herald.deliveries (schemas/delivery-task.avsc). */
export interface DeliveryTask {
  messageId: string;
  tenantId: string;
  channel: MessageRequested['channel'];
  /** The provider this attempt calls. */
  provider: string;
  /** The failover chain (empty: just `provider`), see providerChain. */
  providers: string[];
  /** The attempt at which `provider`'s schedule began: 1, or the first after a failover or resend. */
  providerFirstAttempt: number;
  /** When `provider`'s schedule began (null: at this attempt); its window counts from here. */
  providerFirstAttemptAt: number | null;
  recipient: string;
  content: Record<string, string>;
  metadata: Record<string, string>;
  retryPolicy: string;
  requestedAt: number;
  attempt: number;
  /** When this run's first attempt was made; null for a run's first attempt (status `queued`). */
  firstAttemptAt: number | null;
  nextSeq: number;
  dueAt: number;
}

/** The internal record on herald.status-checks (schemas/status-check-task.avsc). */
export interface StatusCheckTask {
  messageId: string;
  tenantId: string;
  channel: MessageRequested['channel'];
  provider: string;
  recipient: string;
  providerMessageId: string;
  retryPolicy: string;
  attempt: number;
  sentAt: number;
  nextSeq: number;
  dueAt: number;
}

/**
 * The first task of a run of attempts (ingest's, or a resend's): on the chain's first provider,
 * whose schedule and window start at this attempt.
 */
export function firstTaskOfRun(
  request: MessageRequested,
  run: { retryPolicy: string; attempt: number; nextSeq: number; now: number },
): DeliveryTask {
  const { providers } = request;
  return {
    messageId: request.messageId,
    tenantId: request.tenantId,
    channel: request.channel,
    provider: providerChain({ provider: request.provider, providers })[0]!,
    providers,
    providerFirstAttempt: run.attempt,
    providerFirstAttemptAt: null,
    recipient: request.recipient,
    content: request.content,
    metadata: request.metadata,
    retryPolicy: run.retryPolicy,
    requestedAt: request.requestedAt,
    attempt: run.attempt,
    firstAttemptAt: null,
    nextSeq: run.nextSeq,
    dueAt: run.now,
  };
}
