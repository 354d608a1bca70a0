import { randomUUID } from 'node:crypto';
import { register } from 'prom-client';
import {
  afterAttempt,
  cancelAfterAttempt,
  type DeliveryTask,
  type SendResult,
} from '@herald/decisions';
import {
  attemptOutcomeLabel,
  forgetConsumerLag,
  HERALD_METRICS,
  heraldMetrics,
  recordConsumerLag,
  recordRetryScheduled,
  statusCheckOutcomeLabel,
} from '@herald/metrics';
import type { ProviderExchange } from '@herald/messages';
import { BUILT_IN_POLICIES } from '@herald/retry-policy';
import {
  bucketQuantile,
  histogramBuckets,
  histogramMs,
  parsePrometheus,
} from '../../tools/bench/herald/metrics';

const now = 1_800_000_000_000;
const log: ProviderExchange = {
  request: { method: 'POST', url: 'https://api.example.test/', headers: {}, body: null },
  response: { status: 200, headers: {}, body: null },
  durationMs: 1,
};

describe("Herald's metrics (libs/edge/metrics)", () => {
  beforeEach(() => register.resetMetrics());

  it('are named herald_…, with their unit, and are counters, gauges or histograms only', () => {
    for (const metric of HERALD_METRICS) {
      expect(metric.name).toMatch(/^herald_[a-z0-9_]+$/);
      if (metric.type === 'counter') expect(metric.name).toMatch(/_total$/);
      if (metric.type === 'histogram') expect(metric.name).toMatch(/_seconds$/);
    }
    expect(new Set(HERALD_METRICS.map((m) => m.name)).size).toBe(HERALD_METRICS.length);
  });

  it('are all named on /metrics before anything is recorded (HELP and TYPE lines)', async () => {
    const text = await register.metrics();
    for (const metric of HERALD_METRICS) {
      expect(text).toContain(`# TYPE ${metric.name} ${metric.type}`);
    }
  });

  describe('attempt outcomes, read from the decision', () => {
    const task: DeliveryTask = {
      messageId: 'm-1',
      tenantId: 't-1',
      channel: 'sms',
      provider: 'twilio',
      providers: ['twilio', 'vonage'],
      providerFirstAttempt: 1,
      providerFirstAttemptAt: null,
      recipient: '+14155550123',
      content: {},
      metadata: {},
      retryPolicy: 'knock',
      requestedAt: now - 100,
      attempt: 1,
      firstAttemptAt: null,
      nextSeq: 2,
      dueAt: now,
    };
    const deps = {
      policy: BUILT_IN_POLICIES.knock,
      startedAt: now,
      now,
      timeScale: 1,
      newId: randomUUID,
      checksStatus: false,
      random: () => 1,
    };
    const failed = (category: 'retryable' | 'non_retryable'): SendResult => ({
      ok: false,
      error: { category, code: 'http_503', message: 'x' },
      log: null,
    });
    const alone = { ...task, providers: [] };

    it.each([
      [
        'sent',
        afterAttempt(alone, { ok: true, status: 'sent', providerMessageId: null, log }, deps),
      ],
      [
        'delivered',
        afterAttempt(alone, { ok: true, status: 'delivered', providerMessageId: null, log }, deps),
      ],
      ['retrying', afterAttempt(alone, failed('retryable'), deps)],
      ['failed', afterAttempt(alone, failed('non_retryable'), deps)],
      ['failover', afterAttempt(task, failed('non_retryable'), deps)],
      ['canceled', cancelAfterAttempt(afterAttempt(alone, failed('retryable'), deps), deps)],
    ])('%s', (label, outcome) => {
      expect(attemptOutcomeLabel(outcome)).toBe(label);
    });
  });

  it('labels status checks by what the provider answered, or error', () => {
    expect(statusCheckOutcomeLabel({ ok: true, outcome: 'delivered', log })).toBe('delivered');
    expect(
      statusCheckOutcomeLabel({ ok: true, outcome: 'pending', providerStatus: 'sending', log }),
    ).toBe('pending');
    expect(
      statusCheckOutcomeLabel({
        ok: false,
        error: { category: 'network', code: 'ECONNRESET', message: 'reset' },
        log: null,
      }),
    ).toBe('error');
  });

  it('counts a retry under the delay tier it waits in first, or work', async () => {
    recordRetryScheduled('deliveries', now + 7_000, now);
    recordRetryScheduled('deliveries', now + 100, now);
    recordRetryScheduled('status-checks', now + 3_600_000, now);
    const metrics = parsePrometheus(await register.metrics());
    const key = (stage: string, tier: string) =>
      `herald_retries_scheduled_total{stage="${stage}",tier="${tier}"}`;
    expect(metrics.get(key('deliveries', '5s'))).toBe(1);
    expect(metrics.get(key('deliveries', 'work'))).toBe(1);
    expect(metrics.get(key('status-checks', '1h'))).toBe(1);
  });

  it('keeps consumer lag per group and partition, and forgets a group after a rebalance', async () => {
    recordConsumerLag('herald-sender', 'herald.deliveries', 0, 12);
    recordConsumerLag('herald-sender', 'herald.deliveries', 0, 3);
    recordConsumerLag('herald-sender', 'herald.deliveries', 1, 0);
    recordConsumerLag('herald-ingest', 'herald.messages.requested', 0, 5);
    const lag = (group: string, topic: string, partition: number) =>
      `herald_consumer_lag{group="${group}",partition="${partition}",topic="${topic}"}`;
    let metrics = parsePrometheus(await register.metrics());
    expect(metrics.get(lag('herald-sender', 'herald.deliveries', 0))).toBe(3);
    expect(metrics.get(lag('herald-sender', 'herald.deliveries', 1))).toBe(0);

    forgetConsumerLag('herald-sender');
    metrics = parsePrometheus(await register.metrics());
    expect(metrics.has(lag('herald-sender', 'herald.deliveries', 0))).toBe(false);
    expect(metrics.get(lag('herald-ingest', 'herald.messages.requested', 0))).toBe(5);
  });
});

describe("the bench's quantiles from histogram buckets (tools/bench/herald/metrics.ts)", () => {
  it('interpolates within the bucket holding the rank, as histogram_quantile does', () => {
    const buckets = [
      { le: 0.1, count: 10 },
      { le: 0.5, count: 90 },
      { le: 1, count: 100 },
      { le: Infinity, count: 100 },
    ];
    expect(bucketQuantile(0.05, buckets)).toBeCloseTo(0.05);
    expect(bucketQuantile(0.5, buckets)).toBeCloseTo(0.1 + 0.4 * (40 / 80));
    expect(bucketQuantile(0.95, buckets)).toBeCloseTo(0.5 + 0.5 * (5 / 10));
    // A rank in +Inf answers the highest finite bound; no observations, NaN.
    expect(bucketQuantile(0.99, [...buckets.slice(0, 3), { le: Infinity, count: 200 }])).toBe(1);
    expect(bucketQuantile(0.5, [{ le: Infinity, count: 0 }])).toBeNaN();
  });

  it("reads prom-client's exposition into p50 / p95 / p99 in milliseconds", async () => {
    register.resetMetrics();
    for (let i = 1; i <= 1000; i += 1) heraldMetrics.projectionLag.observe(i / 1000);
    const metrics = parsePrometheus(await register.metrics());
    const name = 'herald_projector_projection_lag_seconds';
    expect(histogramBuckets(metrics, name).at(-1)).toEqual({ le: Infinity, count: 1000 });
    const quantiles = histogramMs(metrics, name);
    expect(quantiles.count).toBe(1000);
    // Uniform over 1 ms … 1 s: the buckets are fine enough to land within a few ms.
    expect(quantiles.p50).toBeCloseTo(500, -1);
    expect(quantiles.p95).toBeCloseTo(950, -1);
    expect(quantiles.p99).toBeCloseTo(990, -1);
  });
});
