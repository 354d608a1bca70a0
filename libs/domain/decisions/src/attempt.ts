import type { DeliveryError, MessageEvent } from '@herald/messages';
import { maxAttemptsOf, nextAttempt, type RetryPolicy } from '@herald/retry-policy';
import { event } from './event-builder';
import type { SendResult } from './provider-port';
import { firstStatusCheck } from './status-checks';
import type { DeliveryTask, StatusCheckTask } from './tasks';

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

/**
 * The error that ends a message whose handling kept failing inside Herald when not even its
 * `internal` failure could be recorded with a retry (the fault was in the retry's own arithmetic
 * or record): `undelivered` at once, saying why, instead of a task that can never be written.
 */
export function unrecoverable(error: DeliveryError, why: string): DeliveryError {
  return {
    category: 'non_retryable',
    code: error.code,
    message: `${error.message}; no retry could be recorded: ${why}`,
  };
}
