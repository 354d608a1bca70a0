import type { DeliveryError, MessageEvent } from '@herald/messages';
import type { StatusCheckResult } from './provider-port';
import { maxAttemptsOf, nextAttempt, type Schedule } from '@herald/retry-policy';
import { event } from './event-builder';
import type { DeliveryTask, StatusCheckTask } from './tasks';

/**
 * The first check of a message the provider accepted. Checks count like send attempts: the
 * first runs at once, and the policy's status-check schedule spaces the retries that follow,
 * with its window measured from the send.
 */
export function firstStatusCheck(
  task: DeliveryTask,
  providerMessageId: string,
  sentAt: number,
): StatusCheckTask {
  return {
    messageId: task.messageId,
    tenantId: task.tenantId,
    channel: task.channel,
    provider: task.provider,
    recipient: task.recipient,
    providerMessageId,
    retryPolicy: task.retryPolicy,
    attempt: 1,
    sentAt,
    // The `sent` event takes task.nextSeq; the checks' events follow it.
    nextSeq: task.nextSeq + 1,
    dueAt: sentAt,
  };
}

export interface CheckOutcome {
  /** `status_check_attempted`, followed by the outcome when the provider gave a final one. */
  events: MessageEvent[];
  /** The next check, when one is scheduled. */
  next: StatusCheckTask | null;
}

const NO_MORE_CHECKS: Schedule = { kind: 'sequence', delaysMs: [], maxRetries: 0, windowMs: 0 };

/** Error code of the last `status_check_attempted` when the policy allows no more checks. */
export const CHECKS_EXHAUSTED = 'status_checks_exhausted';

/**
 * What the status checker records after one check. Every check is a `status_check_attempted`
 * carrying its request/response log (CONTRACT.md: each check emits one); a final answer from the
 * provider follows it as `delivered`, `bounced` or `undelivered`. Otherwise the next check is
 * scheduled, unless the schedule is spent or the check itself can never succeed (bad
 * credentials, unknown id): then the `status_check_attempted` says why and the message stays
 * `sent`, since the provider did accept it.
 */
export function afterStatusCheck(
  task: StatusCheckTask,
  result: StatusCheckResult,
  deps: {
    /** Null when the policy was changed, since the send, to no longer check: this check is the last. */
    schedule: Schedule | null;
    now: number;
    timeScale: number;
    /** Makes event ids. */
    newId: () => string;
    /** Jitter's random source, in [0, 1]. */
    random: () => number;
  },
): CheckOutcome {
  const schedule = deps.schedule ?? NO_MORE_CHECKS;
  const maxAttempts = maxAttemptsOf(schedule);
  const base = {
    messageId: task.messageId,
    tenantId: task.tenantId,
    seq: task.nextSeq,
    occurredAt: deps.now,
    current: 'sent' as const,
    newId: deps.newId,
  };
  const common = {
    attempt: task.attempt,
    maxAttempts,
    log: result.log,
    providerMessageId: task.providerMessageId,
  };
  if (result.ok && result.outcome !== 'pending') {
    const error = result.outcome === 'delivered' ? null : result.error;
    const checked = event(base, { ...common, type: 'status_check_attempted' });
    const outcome = event(
      { ...base, seq: base.seq + 1 },
      { ...common, log: null, type: result.outcome, error },
    );
    return { events: [checked, outcome], next: null };
  }

  const stopped = (error: DeliveryError): CheckOutcome => ({
    events: [event(base, { ...common, type: 'status_check_attempted', error })],
    next: null,
  });
  const failure = result.ok ? null : result.error;
  if (failure?.category === 'non_retryable') {
    return stopped({ ...failure, message: `${failure.message} (status checks stopped)` });
  }

  const next = nextAttempt(schedule, {
    failedAttempt: task.attempt,
    firstAttemptAt: task.sentAt,
    now: deps.now,
    timeScale: deps.timeScale,
    retryAfterMs: result.ok ? undefined : result.retryAfterMs,
    random: deps.random,
  });
  if (next.kind === 'exhausted') {
    const still = result.ok ? `the provider still reports '${result.providerStatus}'` : null;
    return stopped({
      category: 'non_retryable',
      code: CHECKS_EXHAUSTED,
      message: `status checks exhausted: ${next.reason}; ${still ?? `last check failed: ${failure?.message ?? 'unknown'}`}`,
    });
  }
  return {
    events: [
      event(base, {
        ...common,
        type: 'status_check_attempted',
        // A check that found no final status yet is not an error; a failed check is.
        error: failure,
        nextAttemptAt: next.dueAt,
      }),
    ],
    next: {
      ...task,
      attempt: task.attempt + 1,
      nextSeq: task.nextSeq + 1,
      dueAt: next.dueAt,
    },
  };
}
