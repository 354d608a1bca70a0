import { canFollow } from '@herald/delivery-status';
import type { DeliveryStatus, MessageEvent, MessageRequested } from '@herald/messages';
import { maxAttemptsOf, type PolicyRegistry } from '@herald/retry-policy';
import { statusBefore, type AttemptOutcome } from './attempt';
import { event } from './event-builder';
import { firstTaskOfRun, type DeliveryTask } from './tasks';

// Cancel and resend: the decisions behind POST /v1/messages/{id}/cancel and /resend, and the
// sender's side of them. Every event carries a gap-free `seq`, so only one party may write a
// message's next event at a time: whoever holds its task. The API is a second writer, so it
// writes only when it can prove nobody else can, and the message's control (the
// `message_controls` document, a compare-and-set arbiter) tells the task holder what the API
// claimed or asked for. docs/architecture.md, "Message controls", walks through the cases.

/** A message's control document as the decisions see it. */
export interface MessageControl {
  /**
   * `cancel_requested`: the API asked whoever holds the task to cancel it; `canceled` and
   * `resent`: the API wrote the message's event at `seq` itself.
   */
  state: 'cancel_requested' | 'canceled' | 'resent';
  /** The highest seq the API claimed (0: none yet); any task writing at or below it is stale. */
  seq: number;
}

/** The read-model fields the controls decide on. */
export interface ControlledMessage {
  messageId: string;
  tenantId: string;
  status: DeliveryStatus;
  /** The last event's seq. */
  seq: number;
  nextAttemptAt: number | null;
  attempts: number;
}

/**
 * How far ahead a retry must be due for the API to write the cancel itself: the sender reads
 * the control when the retry comes due, so the API's write has this long to land first.
 */
export const CANCEL_CLAIM_MARGIN_MS = 2_000;

export type CancelDecision =
  /** Sent or final: nothing left to cancel. */
  | { kind: 'too_late'; status: DeliveryStatus }
  | { kind: 'already_canceled' }
  /** The retry waits in a delay tier: nobody writes before it is due, so the API writes now. */
  | { kind: 'claim'; event: MessageEvent }
  /** The task may be in a sender's hands: ask it (control `cancel_requested`). */
  | { kind: 'request' };

export function decideCancel(
  message: ControlledMessage,
  deps: { now: number; newId: () => string },
): CancelDecision {
  if (message.status === 'canceled') return { kind: 'already_canceled' };
  if (!canFollow(message.status, 'canceled')) return { kind: 'too_late', status: message.status };
  const waitingInTier =
    message.status === 'delivery_attempted' &&
    message.nextAttemptAt !== null &&
    message.nextAttemptAt > deps.now + CANCEL_CLAIM_MARGIN_MS;
  if (!waitingInTier) return { kind: 'request' };
  return {
    kind: 'claim',
    event: canceledEvent(
      {
        messageId: message.messageId,
        tenantId: message.tenantId,
        seq: message.seq + 1,
        current: message.status,
        attempt: message.attempts,
      },
      deps,
    ),
  };
}

export type ResendDecision =
  | { kind: 'not_resendable'; status: DeliveryStatus }
  | { kind: 'resend'; event: MessageEvent; task: DeliveryTask };

/**
 * A fresh run of attempts for a message that ended without reaching its recipient: a
 * `resend_requested` (status `queued` again) and the run's first task, from the original
 * request. Attempt numbers and seq run on; the schedule and its window start again, on the
 * first provider of the chain.
 */
export function decideResend(
  message: ControlledMessage,
  request: MessageRequested,
  deps: { now: number; newId: () => string; policies: PolicyRegistry },
): ResendDecision {
  if (!canFollow(message.status, 'resend_requested')) {
    return { kind: 'not_resendable', status: message.status };
  }
  const policy = deps.policies.resolve(request.retryPolicy, request.channel);
  const attempt = message.attempts + 1;
  const seq = message.seq + 1;
  const resend = event(
    {
      messageId: message.messageId,
      tenantId: message.tenantId,
      seq,
      occurredAt: deps.now,
      current: message.status,
      newId: deps.newId,
    },
    {
      type: 'resend_requested',
      attempt: message.attempts,
      maxAttempts: attempt - 1 + maxAttemptsOf(policy.send),
    },
  );
  return {
    kind: 'resend',
    event: resend,
    task: firstTaskOfRun(request, {
      retryPolicy: policy.name,
      attempt,
      nextSeq: seq + 1,
      now: deps.now,
    }),
  };
}

export type TaskCheck =
  | { kind: 'proceed' }
  /** The API wrote at or past this task's seq (a resend), or canceled the message: drop it. */
  | { kind: 'stale' }
  /** A cancel was asked for: record it instead of calling. */
  | { kind: 'cancel'; event: MessageEvent };

/** What the sender does with a due task before it calls the provider. */
export function checkTask(
  task: DeliveryTask,
  control: MessageControl | null,
  deps: { now: number; newId: () => string },
): TaskCheck {
  if (!control) return { kind: 'proceed' };
  // One rule for both controls: whatever the API wrote, it wrote after this task was made.
  // And once the API canceled the message itself, no task of it is current (a resend changes
  // the state first), even one made past that seq while the control could not be read.
  if (task.nextSeq <= control.seq || control.state === 'canceled') return { kind: 'stale' };
  if (control.state !== 'cancel_requested') return { kind: 'proceed' };
  return {
    kind: 'cancel',
    event: canceledEvent(
      {
        messageId: task.messageId,
        tenantId: task.tenantId,
        seq: task.nextSeq,
        current: statusBefore(task),
        attempt: task.attempt - 1,
      },
      deps,
    ),
  };
}

/**
 * A cancel asked for while the call was in flight: the attempt's outcome is recorded and, if it
 * would have led to another attempt, `canceled` follows it instead. A call that sent the
 * message or ended it wins: the cancel came too late.
 */
export function cancelAfterAttempt(
  outcome: AttemptOutcome,
  deps: { now: number; newId: () => string },
): AttemptOutcome {
  const attempted = outcome.events[0];
  if (!outcome.retry || !attempted || !canFollow(attempted.status, 'canceled')) return outcome;
  const recorded = { ...attempted, nextAttemptAt: null };
  return {
    events: [
      recorded,
      canceledEvent(
        {
          messageId: recorded.messageId,
          tenantId: recorded.tenantId,
          seq: recorded.seq + 1,
          current: recorded.status,
          attempt: recorded.attempt,
        },
        deps,
      ),
    ],
    retry: null,
    statusCheck: null,
  };
}

function canceledEvent(
  at: {
    messageId: string;
    tenantId: string;
    seq: number;
    current: DeliveryStatus;
    attempt: number;
  },
  deps: { now: number; newId: () => string },
): MessageEvent {
  return event(
    { ...at, occurredAt: deps.now, newId: deps.newId },
    { type: 'canceled', attempt: at.attempt },
  );
}
