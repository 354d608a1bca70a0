/**
 * Two fixes for what kafkajs 2.2.4 spends on an idle connection. Herald keeps a dozen or more
 * connections per service open (each consumer, its coordinator, each transactional producer),
 * so what one connection spends at rest counts many times over.
 *
 * - The idle spin (tulios/kafkajs#1556, unreleased upstream): once a connection has answered a
 *   request, its request queue re-arms a timer for "pending requests" even when none are
 *   pending, with a negative delay, so every connection runs a 1 ms timer loop for the rest of
 *   its life: most of what an idle service spent (about 2% of a core each). A check with
 *   nothing pending has nothing to do, and push() schedules one again when a request is
 *   queued, so the fix skips scheduling it then; with requests pending, kafkajs's own
 *   scheduling runs unchanged.
 * - The request-timeout sweep: every connection looks for timed-out requests every 100 ms.
 *   Herald's requests time out after tens of seconds (kafkajs's 30 s, plus the long poll for a
 *   fetch), so looking every REQUEST_TIMEOUT_SWEEP_MS times them out at most that much later
 *   for a fiftieth of the wake-ups.
 *
 * kafkajs is the last release of an unmaintained line; if its internals ever change shape the
 * fix steps aside rather than break anything.
 */

interface InflightRequest {
  sentAt: number;
  requestTimeout: number;
  timeoutRequest(): void;
}

interface RequestQueueInternals {
  pending?: unknown[];
  inflight?: Map<number, InflightRequest>;
  enforceRequestTimeout?: boolean;
  requestTimeout?: number;
  requestTimeoutIntervalId?: NodeJS.Timeout;
  isConnected?: () => boolean;
  destroy?: () => void;
  scheduleCheckPendingRequests(): void;
  scheduleRequestTimeoutCheck?: () => void;
}

/** How often a connection looks for requests that have timed out. */
export const REQUEST_TIMEOUT_SWEEP_MS = 5_000;

const FIXED = Symbol.for('herald.kafkajs-idle-fix');

/** Applies the fix once per process; true when it is in place. */
export function fixKafkajsIdleSpin(): boolean {
  let RequestQueue: { prototype: RequestQueueInternals & { [FIXED]?: true } } | undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    RequestQueue = require('kafkajs/src/network/requestQueue');
  } catch {
    return false;
  }
  const prototype = RequestQueue?.prototype;
  if (!prototype || typeof prototype.scheduleCheckPendingRequests !== 'function') return false;
  if (prototype[FIXED]) return true;
  const schedule = prototype.scheduleCheckPendingRequests;
  prototype.scheduleCheckPendingRequests = function (this: RequestQueueInternals) {
    if (Array.isArray(this.pending) && this.pending.length === 0) return;
    schedule.call(this);
  };
  const sweep = prototype.scheduleRequestTimeoutCheck;
  if (typeof sweep === 'function' && typeof prototype.destroy === 'function') {
    // kafkajs's own sweep, looking every REQUEST_TIMEOUT_SWEEP_MS instead of every 100 ms.
    prototype.scheduleRequestTimeoutCheck = function (this: RequestQueueInternals) {
      if (!this.enforceRequestTimeout || !this.inflight || !this.isConnected || !this.destroy) {
        return sweep.call(this);
      }
      this.destroy();
      this.requestTimeoutIntervalId = setInterval(
        () => {
          this.inflight!.forEach((request) => {
            if (Date.now() - request.sentAt > request.requestTimeout) request.timeoutRequest();
          });
          if (!this.isConnected!()) this.destroy!();
        },
        Math.min(this.requestTimeout ?? REQUEST_TIMEOUT_SWEEP_MS, REQUEST_TIMEOUT_SWEEP_MS),
      );
    };
  }
  prototype[FIXED] = true;
  return true;
}

interface ConsumerGroupInternals {
  subscriptionState?: { paused?: () => unknown[] };
}

/** How long a fetch waits while some partition of its consumer is paused. */
export const PAUSED_FETCH_WAIT_MS = 50;

const LONG_POLL = Symbol.for('herald.kafkajs-long-poll');

/**
 * A long poll and a paused partition do not mix in kafkajs 2.2.4: a partition resumed while a
 * fetch is out (or, when every partition is paused, while the consumer sleeps the same wait)
 * is fetched only once that poll ends, up to its full wait later. Herald pauses a work
 * partition only to wait out the last few hundred ms before a retry is due (see holdUntil in
 * consumers.ts), so with 10 s polls retries fired up to seconds late. The fix makes the
 * consumer group's fetch wait a property: the configured long poll while nothing is paused,
 * PAUSED_FETCH_WAIT_MS while anything is, so a hold ends on time and a consumer at rest
 * (nothing paused) still long-polls. True when it is in place.
 */
export function fixKafkajsPausedPolls(): boolean {
  let ConsumerGroup: { prototype: object } | undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ConsumerGroup = require('kafkajs/src/consumer/consumerGroup');
  } catch {
    return false;
  }
  const prototype = ConsumerGroup?.prototype;
  if (!prototype) return false;
  if (Object.getOwnPropertyDescriptor(prototype, 'maxWaitTime')) return true;
  // The constructor assigns this.maxWaitTime, which this setter keeps; every fetch reads it.
  Object.defineProperty(prototype, 'maxWaitTime', {
    configurable: true,
    set(this: { [LONG_POLL]?: number }, ms: number) {
      this[LONG_POLL] = ms;
    },
    get(this: ConsumerGroupInternals & { [LONG_POLL]?: number }) {
      const longPoll = this[LONG_POLL] ?? PAUSED_FETCH_WAIT_MS;
      const paused = this.subscriptionState?.paused?.() ?? [];
      return paused.length > 0 ? Math.min(longPoll, PAUSED_FETCH_WAIT_MS) : longPoll;
    },
  });
  return true;
}
