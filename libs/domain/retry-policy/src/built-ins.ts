import { type Channel } from '@herald/messages';
import { type RetryPolicy, type Schedule } from './schedules';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/**
 * Knock: "up to 8 times over a 30-minute window, exponential back-off with jitter". Doubling
 * from 7 s gives nominal delays 7, 14 … 896 s, summing to 1785 s, so even with every jitter at
 * its maximum the 8th retry lands inside 30 minutes; equal jitter keeps each retry at no less
 * than half its nominal delay.
 */
const knockSend: Schedule = {
  kind: 'exponential',
  maxRetries: 8,
  windowMs: 30 * MINUTE,
  baseMs: 7 * SECOND,
  factor: 2,
  jitter: 'equal',
};

/** Knock's status checks: 10 within 30 minutes; 1.5 s doubled 10 times sums to 1534.5 s. */
const knockStatusCheck: Schedule = {
  kind: 'exponential',
  maxRetries: 10,
  windowMs: 30 * MINUTE,
  baseMs: 1.5 * SECOND,
  factor: 2,
  jitter: 'equal',
};

/**
 * Courier's "immediate retry for the first 10 attempts, 1 hour before the 11th, 2 hours before
 * the 12th, 3 hours for attempts 13 through 25" read as attempt numbers: attempt 1 plus nine
 * immediate retries make attempts 1–10, then the delays before attempts 11 and 12, then thirteen
 * 3-hour delays before attempts 13–25. That is 25 attempts (24 retries) spread over 42 hours,
 * inside the 72 hours Courier states as the span, which is kept as the window.
 */
const courierSchedule: Schedule = {
  kind: 'sequence',
  delaysMs: [...Array<number>(9).fill(0), 1 * HOUR, 2 * HOUR, ...Array<number>(13).fill(3 * HOUR)],
  maxRetries: 24,
  windowMs: 72 * HOUR,
};

/**
 * Courier's outbound webhooks: 10 listed delays, then every 15 minutes, up to 296 retries,
 * "spanning a maximum of 3 days". The listed delays take 2595 s, leaving room in 72 h for 285
 * more at 900 s, so the window ends the schedule after 295 retries, one short of 296.
 */
const webhookSend: Schedule = {
  kind: 'sequence',
  delaysMs: [5, 10, 20, 40, 60, 120, 240, 480, 720, 900].map((seconds) => seconds * SECOND),
  thenEveryMs: 15 * MINUTE,
  maxRetries: 296,
  windowMs: 72 * HOUR,
};

export const BUILT_IN_POLICIES = deepFreeze({
  knock: { name: 'knock', send: knockSend, statusCheck: knockStatusCheck },
  courier: { name: 'courier', send: courierSchedule, statusCheck: courierSchedule },
  webhook: { name: 'webhook', send: webhookSend, statusCheck: null },
} satisfies Record<string, RetryPolicy>);

export type BuiltInPolicyName = keyof typeof BUILT_IN_POLICIES;

/** The policy a message gets when its request names none. */
export function defaultPolicyName(channel: Channel): 'webhook' | 'knock' {
  return channel === 'webhook' ? 'webhook' : 'knock';
}

// The built-ins are shared by every message; a caller mutating one would change them all.
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
