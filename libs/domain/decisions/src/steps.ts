import type { DeliveryError, MessageEvent, MessageRequested } from '@herald/messages';
import type { ProviderCatalog, SendResult } from './provider-port';
import { recipientProblem } from './recipient-rules';
import { redactUrl } from '@herald/redaction';
import { event } from './event-builder';
import { firstStatusCheck, type StatusCheckTask } from './status-checks';
import {
  maxAttemptsOf,
  nextAttempt,
  type PolicyRegistry,
  type RetryPolicy,
} from '@herald/retry-policy';

/** The internal record on herald.deliveries (schemas/delivery-task.avsc). */
export interface DeliveryTask {
  messageId: string;
  tenantId: string;
  channel: MessageRequested['channel'];
  provider: string;
  recipient: string;
  content: Record<string, string>;
  metadata: Record<string, string>;
  retryPolicy: string;
  requestedAt: number;
  attempt: number;
  firstAttemptAt: number | null;
  nextSeq: number;
  dueAt: number;
}

export type IngestDecision =
  | { kind: 'queued'; event: MessageEvent; task: DeliveryTask }
  | { kind: 'not_sent'; event: MessageEvent };

/**
 * What ingest does with a decoded request: reject it (`not_sent`, no attempt can help) or
 * queue it with the policy it will be retried under.
 */
export function ingestRequest(
  request: MessageRequested,
  deps: { providers: ProviderCatalog; policies: PolicyRegistry; now: number; newId: () => string },
): IngestDecision {
  const summary = {
    channel: request.channel,
    provider: request.provider,
    recipient: redactUrl(request.recipient),
    retryPolicy: request.retryPolicy,
    requestedAt: request.requestedAt,
    metadata: request.metadata,
  };
  const base = {
    messageId: request.messageId,
    tenantId: request.tenantId,
    seq: 1,
    occurredAt: deps.now,
    current: null,
    newId: deps.newId,
  };
  const problem = requestProblem(request, deps);
  if (problem) {
    const error: DeliveryError = {
      category: 'non_retryable',
      code: problem.code,
      message: `${problem.field}: ${problem.problem}`,
    };
    return {
      kind: 'not_sent',
      event: event(base, { type: 'not_sent', attempt: 0, error, message: summary }),
    };
  }
  const policy = deps.policies.resolve(request.retryPolicy, request.channel);
  const maxAttempts = maxAttemptsOf(policy.send);
  return {
    kind: 'queued',
    event: event(base, {
      type: 'queued',
      attempt: 0,
      maxAttempts,
      message: { ...summary, retryPolicy: policy.name },
    }),
    task: {
      messageId: request.messageId,
      tenantId: request.tenantId,
      channel: request.channel,
      provider: request.provider,
      recipient: request.recipient,
      content: request.content,
      metadata: request.metadata,
      retryPolicy: policy.name,
      requestedAt: request.requestedAt,
      attempt: 1,
      firstAttemptAt: null,
      nextSeq: 2,
      dueAt: deps.now,
    },
  };
}

export interface RequestProblem {
  field: keyof MessageRequested;
  code: string;
  problem: string;
}

/**
 * Why a well-formed request can never be delivered: an unknown provider or policy, or a
 * recipient that is not an address of its channel. Ingest's HTTP endpoint answers 400 with it;
 * a request that arrives on Kafka ends `not_sent` with it.
 */
export function requestProblem(
  request: Pick<
    MessageRequested,
    'messageId' | 'channel' | 'provider' | 'recipient' | 'retryPolicy'
  >,
  deps: { providers: ProviderCatalog; policies: PolicyRegistry },
): RequestProblem | null {
  if (!request.messageId.trim()) {
    return { field: 'messageId', code: 'invalid_message_id', problem: 'must not be empty' };
  }
  const provider = deps.providers.problemWith(request.provider, request.channel);
  if (provider) return { field: 'provider', code: 'unknown_provider', problem: provider };
  const recipient = recipientProblem(request.channel, request.recipient);
  if (recipient) return { field: 'recipient', code: 'invalid_recipient', problem: recipient };
  if (request.retryPolicy !== null && !deps.policies.get(request.retryPolicy)) {
    return {
      field: 'retryPolicy',
      code: 'unknown_retry_policy',
      problem: `unknown policy '${request.retryPolicy}' (known: ${deps.policies.names().join(', ')})`,
    };
  }
  return null;
}

export interface AttemptOutcome {
  event: MessageEvent;
  /** The next attempt, when one is scheduled. */
  retry: DeliveryTask | null;
  /** The first delivery-status check, after a `sent` the provider can report on. */
  statusCheck: StatusCheckTask | null;
}

/**
 * What the sender records after one attempt: `sent`/`delivered`, a `delivery_attempted` with the
 * next attempt scheduled by the policy, or `undelivered` (fatal error or retries exhausted).
 */
export function afterAttempt(
  task: DeliveryTask,
  result: SendResult,
  deps: {
    policy: RetryPolicy;
    startedAt: number;
    now: number;
    timeScale: number;
    /** Makes event ids. */
    newId: () => string;
    /** Whether the provider's adapter can check delivery status (ProviderAdapter.checkStatus). */
    checksStatus: boolean;
    /** Jitter's random source, in [0, 1]. */
    random: () => number;
  },
): AttemptOutcome {
  const firstAttemptAt = task.firstAttemptAt ?? deps.startedAt;
  const maxAttempts = maxAttemptsOf(deps.policy.send);
  const base = {
    messageId: task.messageId,
    tenantId: task.tenantId,
    seq: task.nextSeq,
    occurredAt: deps.now,
    current: task.attempt === 1 ? ('queued' as const) : ('delivery_attempted' as const),
    newId: deps.newId,
  };
  if (result.ok) {
    const checkPolicy = deps.checksStatus ? deps.policy.statusCheck : null;
    return {
      event: event(base, {
        type: result.status,
        attempt: task.attempt,
        maxAttempts,
        log: result.log,
        providerMessageId: result.providerMessageId,
      }),
      retry: null,
      statusCheck:
        result.status === 'sent' && checkPolicy && result.providerMessageId
          ? firstStatusCheck(task, result.providerMessageId, deps.now)
          : null,
    };
  }
  const undelivered = (error: DeliveryError) => ({
    event: event(base, {
      type: 'undelivered',
      attempt: task.attempt,
      maxAttempts,
      error,
      log: result.log,
    }),
    retry: null,
    statusCheck: null,
  });
  if (result.error.category === 'non_retryable') return undelivered(result.error);

  const next = nextAttempt(deps.policy.send, {
    failedAttempt: task.attempt,
    firstAttemptAt,
    now: deps.now,
    timeScale: deps.timeScale,
    retryAfterMs: result.retryAfterMs,
    random: deps.random,
  });
  if (next.kind === 'exhausted') {
    return undelivered({ ...result.error, message: `${result.error.message} (${next.reason})` });
  }
  return {
    event: event(base, {
      type: 'delivery_attempted',
      attempt: task.attempt,
      maxAttempts,
      nextAttemptAt: next.dueAt,
      error: result.error,
      log: result.log,
    }),
    retry: {
      ...task,
      attempt: task.attempt + 1,
      firstAttemptAt,
      nextSeq: task.nextSeq + 1,
      dueAt: next.dueAt,
    },
    statusCheck: null,
  };
}
