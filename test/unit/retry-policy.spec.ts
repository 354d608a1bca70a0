import { CHANNELS } from '@herald/messages';
import {
  BUILT_IN_POLICIES,
  defaultPolicyName,
  formatDuration,
  maxAttemptsOf,
  nextAttempt,
  parseDuration,
  policyDelayMs,
  PolicyRegistry,
  retryTimeline,
  type Schedule,
  UnknownPolicyError,
} from '@herald/retry-policy';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const T0 = Date.UTC(2025, 0, 1);

const { knock, courier, webhook } = BUILT_IN_POLICIES;

/** Fails every attempt the moment it is made and records when each retry was due. */
function failEveryAttempt(
  schedule: Schedule,
  options: { random?: () => number; timeScale?: number },
) {
  const delays: number[] = [];
  let now = T0;
  for (let failedAttempt = 1; ; failedAttempt++) {
    const next = nextAttempt(schedule, {
      failedAttempt,
      firstAttemptAt: T0,
      now,
      timeScale: options.timeScale ?? 1,
      random: options.random ?? Math.random,
    });
    if (next.kind === 'exhausted') return { delays, last: next, finishedAt: now };
    expect(next.attempt).toBe(failedAttempt + 1);
    delays.push(next.delayMs);
    now = next.dueAt;
  }
}

const differences = (times: number[]) => times.map((time, i) => time - (times[i - 1] ?? 0));

describe('knock', () => {
  const nominal = [7, 14, 28, 56, 112, 224, 448, 896].map((seconds) => seconds * SECOND);

  it('sums its 8 nominal delays to 1785 s, inside the 30-minute window', () => {
    expect(nominal.reduce((sum, delay) => sum + delay, 0)).toBe(1785 * SECOND);
    expect(knock.send.windowMs).toBe(30 * MINUTE);
    expect(maxAttemptsOf(knock.send)).toBe(9);
  });

  it.each([0, 0.5, 1])(
    'retries 8 times within 30 minutes, never early, with random = %d',
    (value) => {
      const { delays, last, finishedAt } = failEveryAttempt(knock.send, { random: () => value });
      expect(delays).toHaveLength(8);
      delays.forEach((delay, i) => {
        const full = nominal[i] ?? NaN;
        expect(delay).toBeGreaterThanOrEqual(full / 2);
        expect(delay).toBeLessThanOrEqual(full);
        expect(delay).toBe(Math.ceil(full / 2 + (value * full) / 2));
      });
      expect(finishedAt).toBeLessThanOrEqual(T0 + 30 * MINUTE);
      expect(last).toEqual({
        kind: 'exhausted',
        reason: 'retries exhausted after 9 attempts',
        maxAttempts: 9,
      });
    },
  );

  it('gives up on the 9th failure whatever the clock says', () => {
    expect(
      nextAttempt(knock.send, {
        failedAttempt: 9,
        firstAttemptAt: T0,
        now: T0,
        timeScale: 1,
        random: Math.random,
      }),
    ).toMatchObject({ kind: 'exhausted', reason: 'retries exhausted after 9 attempts' });
  });

  it('checks delivery status up to 10 times within 30 minutes', () => {
    expect(maxAttemptsOf(knock.statusCheck)).toBe(11);
    for (const value of [0, 0.5, 1]) {
      const { delays, last, finishedAt } = failEveryAttempt(knock.statusCheck, {
        random: () => value,
      });
      expect(delays).toHaveLength(10);
      expect(delays[0]).toBeGreaterThanOrEqual(750);
      expect(finishedAt - T0).toBeLessThanOrEqual(1534.5 * SECOND);
      expect(last).toMatchObject({ reason: 'retries exhausted after 11 attempts' });
    }
    expect(retryTimeline(knock.statusCheck, { random: () => 1 }).at(-1)).toBe(1534.5 * SECOND);
  });
});

describe('courier', () => {
  it('makes 25 attempts: 9 immediate retries, then 1 h, 2 h and 13 × 3 h, 42 h in all', () => {
    expect(maxAttemptsOf(courier.send)).toBe(25);
    const timeline = retryTimeline(courier.send, { random: Math.random });
    expect(differences(timeline)).toEqual([
      ...Array<number>(9).fill(0),
      1 * HOUR,
      2 * HOUR,
      ...Array<number>(13).fill(3 * HOUR),
    ]);
    expect(timeline.at(-1)).toBe(42 * HOUR);
    const { last } = failEveryAttempt(courier.send, {});
    expect(last).toMatchObject({ reason: 'retries exhausted after 25 attempts' });
  });

  it('waits 1 h before the 11th attempt and 2 h before the 12th', () => {
    const after = (failedAttempt: number) =>
      nextAttempt(courier.send, {
        failedAttempt,
        firstAttemptAt: T0,
        now: T0,
        timeScale: 1,
        random: Math.random,
      });
    expect(after(9)).toMatchObject({ kind: 'retry', attempt: 10, delayMs: 0 });
    expect(after(10)).toMatchObject({ kind: 'retry', attempt: 11, delayMs: 1 * HOUR });
    expect(after(11)).toMatchObject({ kind: 'retry', attempt: 12, delayMs: 2 * HOUR });
    expect(after(24)).toMatchObject({ kind: 'retry', attempt: 25, delayMs: 3 * HOUR });
  });

  it('checks status on the same schedule', () => {
    expect(courier.statusCheck).toEqual(courier.send);
  });
});

describe('webhook', () => {
  const listed = [5, 10, 20, 40, 60, 120, 240, 480, 720, 900].map((seconds) => seconds * SECOND);

  it('follows the listed delays, then every 15 minutes', () => {
    const gaps = differences(retryTimeline(webhook.send, { random: Math.random }));
    expect(gaps.slice(0, 10)).toEqual(listed);
    expect(new Set(gaps.slice(10))).toEqual(new Set([15 * MINUTE]));
  });

  it('fits 295 of its 296 retries in 72 hours: 2595 s listed + 285 × 900 s = 259095 s', () => {
    const timeline = retryTimeline(webhook.send, { random: Math.random });
    expect(maxAttemptsOf(webhook.send)).toBe(297);
    expect(timeline).toHaveLength(295);
    expect(timeline.at(-1)).toBe(259_095 * SECOND);
    expect(timeline.at(-1)).toBeLessThanOrEqual(72 * HOUR);
    // The 296th retry would be due at 259995 s, past 72 h (259200 s).
    const { last } = failEveryAttempt(webhook.send, {});
    expect(last).toEqual({
      kind: 'exhausted',
      reason: 'policy window of 3d would be passed by attempt 297',
      maxAttempts: 297,
    });
  });

  it('has no status checks and is the webhook channel default', () => {
    expect(webhook.statusCheck).toBeNull();
    for (const channel of CHANNELS) {
      expect(defaultPolicyName(channel)).toBe(channel === 'webhook' ? 'webhook' : 'knock');
    }
  });
});

describe('nextAttempt', () => {
  const noJitter: Schedule = { ...knock.send, jitter: 'none' };

  it('multiplies policy delays and the window by the time scale', () => {
    const timeline = retryTimeline(knock.send, { timeScale: 0.001, random: () => 1 });
    expect(differences(timeline)).toEqual([7, 14, 28, 56, 112, 224, 448, 896]);
    expect(timeline.at(-1)).toBe(1785);

    const first = nextAttempt(noJitter, {
      failedAttempt: 1,
      firstAttemptAt: T0,
      now: T0 + 3,
      timeScale: 0.001,
      random: Math.random,
    });
    expect(first).toEqual({
      kind: 'retry',
      dueAt: T0 + 10,
      delayMs: 7,
      attempt: 2,
      maxAttempts: 9,
    });
    // 30 minutes scaled by 0.001 is 1.8 s.
    expect(
      nextAttempt(noJitter, {
        failedAttempt: 1,
        firstAttemptAt: T0,
        now: T0 + 1795,
        timeScale: 0.001,
        random: Math.random,
      }),
    ).toEqual({
      kind: 'exhausted',
      reason: 'policy window of 30m (time scale 0.001) would be passed by attempt 2',
      maxAttempts: 9,
    });
  });

  it('rounds scaled delays up to whole milliseconds, never down', () => {
    const next = nextAttempt(
      { kind: 'sequence', delaysMs: [1500], maxRetries: 1, windowMs: HOUR },
      { failedAttempt: 1, firstAttemptAt: T0, now: T0, timeScale: 0.0001, random: Math.random },
    );
    expect(next).toMatchObject({ kind: 'retry', delayMs: 1 });
  });

  it('lets a Retry-After push the retry later, unscaled', () => {
    const next = nextAttempt(noJitter, {
      failedAttempt: 1,
      firstAttemptAt: T0,
      now: T0 + 100,
      timeScale: 0.001,
      random: Math.random,
      retryAfterMs: 1_200,
    });
    expect(next).toMatchObject({ kind: 'retry', dueAt: T0 + 1_300, delayMs: 1_200, attempt: 2 });
  });

  it('keeps the policy delay when the Retry-After is shorter', () => {
    const next = nextAttempt(noJitter, {
      failedAttempt: 3,
      firstAttemptAt: T0,
      now: T0 + MINUTE,
      timeScale: 1,
      random: Math.random,
      retryAfterMs: 5 * SECOND,
    });
    expect(next).toMatchObject({ kind: 'retry', delayMs: 28 * SECOND });
  });

  it('never schedules a retry before the Retry-After says', () => {
    for (let i = 0; i < 200; i++) {
      const retryAfterMs = Math.random() * 10 * MINUTE;
      const failedAttempt = 1 + (i % 8);
      const now = T0 + failedAttempt * SECOND;
      const next = nextAttempt(knock.send, {
        failedAttempt,
        firstAttemptAt: T0,
        now,
        timeScale: 1,
        random: Math.random,
        retryAfterMs,
      });
      if (next.kind === 'retry') expect(next.dueAt).toBeGreaterThanOrEqual(now + retryAfterMs);
      else expect(next.reason).toMatch(/beyond the policy window|would be passed/);
    }
  });

  it('gives up when the Retry-After is beyond the window, and says so', () => {
    const next = nextAttempt(knock.send, {
      failedAttempt: 1,
      firstAttemptAt: T0,
      now: T0 + 10 * SECOND,
      timeScale: 1,
      random: Math.random,
      retryAfterMs: HOUR,
    });
    expect(next).toEqual({
      kind: 'exhausted',
      reason: 'retry-after of 1h from the provider is beyond the policy window of 30m',
      maxAttempts: 9,
    });
  });

  it('gives up when the policy delay alone would pass the window, and says so', () => {
    const next = nextAttempt(noJitter, {
      failedAttempt: 8,
      firstAttemptAt: T0,
      now: T0 + 20 * MINUTE,
      timeScale: 1,
      random: Math.random,
      retryAfterMs: HOUR,
    });
    expect(next).toMatchObject({
      kind: 'exhausted',
      reason: 'policy window of 30m would be passed by attempt 9',
    });
  });

  it('applies full jitter, no jitter and the delay cap', () => {
    const capped: Schedule = { ...noJitter, maxDelayMs: 20 * SECOND };
    expect([1, 2, 3, 4].map((retry) => policyDelayMs(capped, retry, Math.random))).toEqual([
      7_000, 14_000, 20_000, 20_000,
    ]);
    const full: Schedule = { ...noJitter, jitter: 'full' };
    expect(policyDelayMs(full, 2, () => 0)).toBe(0);
    expect(policyDelayMs(full, 2, () => 0.25)).toBe(3_500);
    // A random source out of range cannot schedule a retry early.
    expect(policyDelayMs(knock.send, 1, () => -5)).toBe(3_500);
  });

  it('bounds a sequence without thenEvery by its list', () => {
    const short: Schedule = { kind: 'sequence', delaysMs: [1, 2], maxRetries: 10, windowMs: HOUR };
    expect(maxAttemptsOf(short)).toBe(3);
    expect(retryTimeline(short, { random: Math.random })).toEqual([1, 3]);
  });

  it('refuses nonsense input', () => {
    const base = { firstAttemptAt: T0, now: T0, timeScale: 1, random: Math.random };
    expect(() => nextAttempt(knock.send, { ...base, failedAttempt: 0 })).toThrow(RangeError);
    expect(() => nextAttempt(knock.send, { ...base, failedAttempt: 1, timeScale: 0 })).toThrow(
      RangeError,
    );
  });
});

describe('PolicyRegistry', () => {
  const registry = PolicyRegistry.withBuiltIns();

  it('resolves a named policy or the channel default', () => {
    expect(registry.names()).toEqual(['courier', 'knock', 'webhook']);
    expect(registry.resolve('courier', 'email')).toBe(courier);
    expect(registry.resolve(null, 'email')).toBe(knock);
    expect(registry.resolve(null, 'webhook')).toBe(webhook);
    expect(registry.get('nope')).toBeUndefined();
  });

  it('names an unknown policy in the error', () => {
    expect(() => registry.resolve('nope', 'sms')).toThrow(UnknownPolicyError);
    expect(() => registry.resolve('nope', 'sms')).toThrow(
      'unknown retry policy "nope" (known: courier, knock, webhook)',
    );
  });

  it('keeps the built-ins immutable', () => {
    expect(Object.isFrozen(knock.send)).toBe(true);
    expect(Object.isFrozen(courier.send.kind === 'sequence' && courier.send.delaysMs)).toBe(true);
  });
});

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['1.5s', 1_500],
    ['10m', 10 * MINUTE],
    ['1h 30m', 90 * MINUTE],
    ['3d', 72 * HOUR],
  ])('parses %s', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '10', '10 minutes', 'm', '-1s', '1s2'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('formats exactly and briefly', () => {
    expect([30 * MINUTE, 90 * MINUTE, 72 * HOUR, 1_500, 7, 0].map(formatDuration)).toEqual([
      '30m',
      '1h30m',
      '3d',
      '1.5s',
      '7ms',
      '0s',
    ]);
  });
});
