import { formatDuration } from './duration';

/**
 * Retry schedules and the one decision the sender and the status checker need from them: after
 * attempt N failed, when (if ever) does attempt N+1 run. Everything here is pure so that the
 * arithmetic behind "never early, never past the window" can be tested without a clock.
 */

export type Jitter = 'none' | 'equal' | 'full';

export interface ExponentialSchedule {
  readonly kind: 'exponential';
  readonly maxRetries: number;
  /** Hard limit, measured from the first attempt: no retry is scheduled after it. */
  readonly windowMs: number;
  readonly baseMs: number;
  readonly factor: number;
  readonly maxDelayMs?: number;
  readonly jitter: Jitter;
}

export interface SequenceSchedule {
  readonly kind: 'sequence';
  /** delaysMs[n - 1] is the delay before retry n. */
  readonly delaysMs: readonly number[];
  /** The delay before every retry past the list; without it the list length bounds retries. */
  readonly thenEveryMs?: number;
  readonly maxRetries: number;
  readonly windowMs: number;
}

export type Schedule = ExponentialSchedule | SequenceSchedule;

export interface RetryPolicy {
  readonly name: string;
  readonly send: Schedule;
  /** Null when the policy does not poll for delivery status after a send. */
  readonly statusCheck: Schedule | null;
  /**
   * How long one provider may keep failing before a message with a fallback moves on to it
   * (unscaled; HERALD_TIME_SCALE applies). Absent: DEFAULT_FAILOVER_AFTER_MS.
   */
  readonly failoverAfterMs?: number;
}

/** Courier's default: it retries one provider for 5 minutes, then moves on to the next. */
export const DEFAULT_FAILOVER_AFTER_MS = 5 * 60_000;

/** The policy's failoverAfter as written (unscaled), its default when it names none. */
export function failoverAfterOf(policy: RetryPolicy): number {
  return policy.failoverAfterMs ?? DEFAULT_FAILOVER_AFTER_MS;
}

/** The policy's failoverAfter in real milliseconds under `timeScale`. */
export function failoverAfterMs(policy: RetryPolicy, timeScale: number): number {
  return scaled(failoverAfterOf(policy), timeScale);
}

export interface AttemptContext {
  /** The number of the attempt that just failed; 1 is the first attempt. */
  failedAttempt: number;
  /** Epoch ms of attempt 1; the window is measured from here. */
  firstAttemptAt: number;
  now: number;
  /** HERALD_TIME_SCALE: policy delays and windows are multiplied by it. */
  timeScale: number;
  /**
   * The provider's Retry-After, in real milliseconds. It is not scaled: the provider will keep
   * refusing until that much time has really passed, whatever the test speed-up.
   */
  retryAfterMs?: number | null;
  /** Returns a number in [0, 1] (Math.random in the services); pinned in tests. */
  random: () => number;
}

export type NextAttempt =
  | {
      kind: 'retry';
      /** Epoch ms, a whole number, never before the policy delay nor the Retry-After. */
      dueAt: number;
      /** dueAt - now. */
      delayMs: number;
      /** The number of the attempt being scheduled (failedAttempt + 1). */
      attempt: number;
      maxAttempts: number;
    }
  | { kind: 'exhausted'; reason: string; maxAttempts: number };

/** Attempts in all, the first one included. */
export function maxAttemptsOf(schedule: Schedule): number {
  if (schedule.kind === 'sequence' && schedule.thenEveryMs === undefined) {
    return Math.min(schedule.maxRetries, schedule.delaysMs.length) + 1;
  }
  return schedule.maxRetries + 1;
}

/**
 * The unscaled policy delay before retry `retry` (1 = the retry after the first attempt),
 * jitter included.
 */
export function policyDelayMs(schedule: Schedule, retry: number, random: () => number): number {
  if (!Number.isInteger(retry) || retry < 1) {
    throw new RangeError(`retry must be a whole number ≥ 1, got ${retry}`);
  }
  if (schedule.kind === 'sequence') {
    const listed = schedule.delaysMs[retry - 1];
    if (listed !== undefined) return listed;
    if (schedule.thenEveryMs !== undefined) return schedule.thenEveryMs;
    throw new RangeError(`the sequence schedule lists no delay before retry ${retry}`);
  }
  const nominal = Math.min(
    schedule.maxDelayMs ?? Infinity,
    schedule.baseMs * schedule.factor ** (retry - 1),
  );
  switch (schedule.jitter) {
    case 'none':
      return nominal;
    case 'equal':
      // Half is fixed so that a retry is never sooner than half the nominal back-off.
      return nominal / 2 + unit(random()) * (nominal / 2);
    case 'full':
      return unit(random()) * nominal;
  }
}

export function nextAttempt(schedule: Schedule, context: AttemptContext): NextAttempt {
  const { failedAttempt, firstAttemptAt, now, timeScale, retryAfterMs } = context;
  if (!Number.isInteger(failedAttempt) || failedAttempt < 1) {
    throw new RangeError(`failedAttempt must be a whole number ≥ 1, got ${failedAttempt}`);
  }
  if (!Number.isFinite(timeScale) || timeScale <= 0) {
    throw new RangeError(`timeScale must be a finite number > 0, got ${timeScale}`);
  }
  if (!Number.isFinite(now) || !Number.isFinite(firstAttemptAt)) {
    throw new RangeError('now and firstAttemptAt must be finite epoch milliseconds');
  }

  const maxAttempts = maxAttemptsOf(schedule);
  if (failedAttempt >= maxAttempts) {
    return {
      kind: 'exhausted',
      reason: `retries exhausted after ${failedAttempt} attempts`,
      maxAttempts,
    };
  }

  const attempt = failedAttempt + 1;
  const deadline = firstAttemptAt + scaled(schedule.windowMs, timeScale);
  const window = `policy window of ${formatDuration(schedule.windowMs)}${scaleNote(timeScale)}`;

  // Rounded up: a due time a fraction of a millisecond early would still be early.
  const policyDueAt =
    now + Math.ceil(scaled(policyDelayMs(schedule, failedAttempt, context.random), timeScale));
  if (policyDueAt > deadline) {
    return {
      kind: 'exhausted',
      reason: `${window} would be passed by attempt ${attempt}`,
      maxAttempts,
    };
  }

  let dueAt = policyDueAt;
  if (retryAfterMs !== undefined && retryAfterMs !== null && retryAfterMs > 0) {
    const retryAfterDueAt = now + Math.ceil(retryAfterMs);
    if (retryAfterDueAt > deadline) {
      return {
        kind: 'exhausted',
        reason: `retry-after of ${formatDuration(retryAfterMs)} from the provider is beyond the ${window}`,
        maxAttempts,
      };
    }
    dueAt = Math.max(dueAt, retryAfterDueAt);
  }

  return { kind: 'retry', dueAt, delayMs: dueAt - now, attempt, maxAttempts };
}

/**
 * When each retry would be due, in ms after the first attempt, if every attempt failed at once
 * and the provider sent no Retry-After: the schedule as it plays out under its window.
 */
export function retryTimeline(
  schedule: Schedule,
  options: { timeScale?: number; random: () => number },
): number[] {
  const dueTimes: number[] = [];
  let now = 0;
  for (let failedAttempt = 1; ; failedAttempt++) {
    const next = nextAttempt(schedule, {
      failedAttempt,
      firstAttemptAt: 0,
      now,
      timeScale: options.timeScale ?? 1,
      random: options.random,
    });
    if (next.kind === 'exhausted') return dueTimes;
    dueTimes.push(next.dueAt);
    now = next.dueAt;
  }
}

// Multiplying by a scale such as 0.001 leaves float noise (7000 * 0.001 = 7.000000000000001)
// that Math.ceil would turn into a whole extra millisecond; rounding to a nanosecond drops it.
function scaled(ms: number, timeScale: number): number {
  return Math.round(ms * timeScale * 1e6) / 1e6;
}

function scaleNote(timeScale: number): string {
  return timeScale === 1 ? '' : ` (time scale ${timeScale})`;
}

// A random source outside [0, 1] would otherwise schedule a retry early or past the nominal.
function unit(value: number): number {
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
}
