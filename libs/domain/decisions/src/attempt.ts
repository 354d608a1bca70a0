import { providerChain, type DeliveryError, type MessageEvent } from '@herald/messages';
import {
  failoverAfterMs,
  failoverAfterOf,
  formatDuration,
  maxAttemptsOf,
  nextAttempt,
  type RetryPolicy,
} from '@herald/retry-policy';
import { event } from './event-builder';
import type { SendResult } from './provider-port';
import { firstStatusCheck } from './status-checks';
import type { DeliveryTask, StatusCheckTask } from './tasks';

export interface AttemptOutcome {
  /**
   * What to record, in seq order: the attempt's event, then a `provider_failover` (moving on to
   * the next provider) or a `canceled` (a cancel that came while the call was in flight).
   */
  events: MessageEvent[];
  /** The next attempt, when one is scheduled. */
  retry: DeliveryTask | null;
  /** The first delivery-status check, after a `sent` the provider can report on. */
  statusCheck: StatusCheckTask | null;
}

export interface AttemptDeps {
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
}

/**
 * What the sender records after one attempt: `sent`/`delivered`; a `delivery_attempted` with the
 * next attempt scheduled by the policy; a `delivery_attempted` and a `provider_failover` to the
 * next provider in the chain, when this one gave up (a non-retryable error, its schedule
 * exhausted, or failing for the policy's failoverAfter); or `undelivered` when the last provider
 * gave up.
 *
 * Each provider gets its own schedule and window, counted from its first attempt
 * (`providerFirstAttempt`, `providerFirstAttemptAt`); attempt numbers run on across providers.
 */
export function afterAttempt(
  task: DeliveryTask,
  result: SendResult,
  deps: AttemptDeps,
): AttemptOutcome {
  const firstAttemptAt = task.firstAttemptAt ?? deps.startedAt;
  const providerSince = task.providerFirstAttemptAt ?? task.firstAttemptAt ?? deps.startedAt;
  const maxAttempts = task.providerFirstAttempt - 1 + maxAttemptsOf(deps.policy.send);
  const base = {
    messageId: task.messageId,
    tenantId: task.tenantId,
    seq: task.nextSeq,
    occurredAt: deps.now,
    current: statusBefore(task),
    newId: deps.newId,
  };
  const attempted = {
    attempt: task.attempt,
    maxAttempts,
    log: result.log,
    provider: task.provider,
  };
  if (result.ok) {
    const checkPolicy = deps.checksStatus ? deps.policy.statusCheck : null;
    return {
      events: [
        event(base, {
          type: result.status,
          ...attempted,
          providerMessageId: result.providerMessageId,
        }),
      ],
      retry: null,
      statusCheck:
        result.status === 'sent' && checkPolicy && result.providerMessageId
          ? firstStatusCheck(task, result.providerMessageId, deps.now)
          : null,
    };
  }
  const undelivered = (error: DeliveryError): AttemptOutcome => ({
    events: [event(base, { type: 'undelivered', ...attempted, error })],
    retry: null,
    statusCheck: null,
  });
  const fallback = nextProvider(task);
  const failover = (to: string, reason: string): AttemptOutcome => {
    const gaveUp = event(base, {
      type: 'delivery_attempted',
      ...attempted,
      nextAttemptAt: deps.now,
      error: result.error,
    });
    const movedOn = event(
      { ...base, seq: base.seq + 1, current: gaveUp.status },
      {
        type: 'provider_failover',
        attempt: task.attempt,
        maxAttempts,
        nextAttemptAt: deps.now,
        failover: { from: task.provider, to, reason },
      },
    );
    return {
      events: [gaveUp, movedOn],
      retry: {
        ...task,
        provider: to,
        attempt: task.attempt + 1,
        providerFirstAttempt: task.attempt + 1,
        providerFirstAttemptAt: deps.now,
        firstAttemptAt,
        nextSeq: task.nextSeq + 2,
        dueAt: deps.now,
      },
      statusCheck: null,
    };
  };

  if (result.error.category === 'non_retryable') {
    return fallback
      ? failover(fallback, `non-retryable error from ${task.provider}: ${result.error.code}`)
      : undelivered(result.error);
  }
  const next = nextAttempt(deps.policy.send, {
    failedAttempt: task.attempt - task.providerFirstAttempt + 1,
    firstAttemptAt: providerSince,
    now: deps.now,
    timeScale: deps.timeScale,
    retryAfterMs: result.retryAfterMs,
    random: deps.random,
  });
  if (fallback) {
    const failingFor = deps.now - providerSince;
    if (next.kind === 'exhausted') return failover(fallback, next.reason);
    if (failingFor >= failoverAfterMs(deps.policy, deps.timeScale)) {
      return failover(
        fallback,
        `${task.provider} kept failing for ${formatDuration(failingFor)} (failoverAfter ${formatDuration(failoverAfterOf(deps.policy))}${deps.timeScale === 1 ? '' : `, time scale ${deps.timeScale}`})`,
      );
    }
  }
  if (next.kind === 'exhausted') {
    return undelivered({ ...result.error, message: `${result.error.message} (${next.reason})` });
  }
  return {
    events: [
      event(base, {
        type: 'delivery_attempted',
        ...attempted,
        nextAttemptAt: next.dueAt,
        error: result.error,
      }),
    ],
    retry: {
      ...task,
      attempt: task.attempt + 1,
      firstAttemptAt,
      providerFirstAttemptAt: providerSince,
      nextSeq: task.nextSeq + 1,
      dueAt: next.dueAt,
    },
    statusCheck: null,
  };
}

/** The status a task's message has while the task waits: `queued` before a run's first attempt. */
export function statusBefore(task: DeliveryTask): 'queued' | 'delivery_attempted' {
  return task.firstAttemptAt === null ? 'queued' : 'delivery_attempted';
}

/** The provider after the task's in its failover chain, or null when it is the last. */
export function nextProvider(task: DeliveryTask): string | null {
  const chain = providerChain(task);
  const at = chain.indexOf(task.provider);
  return at >= 0 ? (chain[at + 1] ?? null) : null;
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
