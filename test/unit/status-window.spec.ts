import type { Channel, EventType, MessageEvent, ProviderExchange } from '@herald/messages';
import {
  MINUTE_MS,
  openIncidents,
  overallStatus,
  safeDetail,
  statusReport,
  StatusWindow,
  weightedPercentile,
  type ComponentState,
  type Incident,
  type ProviderCallShare,
} from '@herald/status-window';

/** Mid-minute, so "the current minute" and "an hour ago" are not on a boundary. */
const NOW = Date.UTC(2026, 11, 3, 10, 30, 30);
const HOUR_AGO = NOW - 60 * MINUTE_MS;

const LOG: ProviderExchange = {
  request: { method: 'POST', url: 'https://api.example.test/send', headers: {}, body: null },
  response: { status: 200, headers: {}, body: null },
  durationMs: 12,
};

let ids = 0;

/** One event as the pipeline writes it; `fields` overrides what a test cares about. */
function event(
  type: EventType,
  messageId: string,
  occurredAt: number,
  fields: Partial<MessageEvent> = {},
): MessageEvent {
  ids += 1;
  return {
    eventId: `event-${ids}`,
    messageId,
    tenantId: 'tenant-a',
    seq: 1,
    type,
    status: 'queued',
    attempt: 0,
    maxAttempts: null,
    occurredAt,
    nextAttemptAt: null,
    error: null,
    log: null,
    message: null,
    providerMessageId: null,
    provider: null,
    failover: null,
    ...fields,
  };
}

function queued(
  messageId: string,
  at: number,
  channel: Channel = 'email',
  provider = 'sendgrid',
  requestedAt = at,
  extra: Partial<MessageEvent> = {},
): MessageEvent {
  return event('queued', messageId, at, {
    message: {
      channel,
      provider,
      providers: [],
      recipient: 'alice@example.com',
      retryPolicy: 'knock',
      requestedAt,
      metadata: {},
    },
    ...extra,
  });
}

/** A send event from the sender: it names the provider and carries the call's log. */
function send(type: EventType, messageId: string, at: number, provider = 'sendgrid') {
  return event(type, messageId, at, { provider, log: LOG, attempt: 1 });
}

function windowFrom(since: number, options: ConstructorParameters<typeof StatusWindow>[0] = {}) {
  const window = new StatusWindow(options);
  window.coverFrom(since);
  return window;
}

function feed(window: StatusWindow, events: MessageEvent[], now = NOW) {
  return events.map((e) => window.record(e, now));
}

function channelOf(window: StatusWindow, channel: Channel, now = NOW) {
  const found = window.traffic(now).channels.find((c) => c.channel === channel);
  if (!found) throw new Error(`no row for ${channel}`);
  return found;
}

/** Deterministic [0, 1) numbers (mulberry32), so the reservoir's choices are repeatable. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('StatusWindow: messages per minute by channel', () => {
  it('given 120 email and 30 sms requests over the last hour, read from an hour ago, then 2 and 0.5 per minute over 60 minutes', () => {
    const window = windowFrom(HOUR_AGO);
    const events: MessageEvent[] = [];
    for (let i = 0; i < 120; i += 1) events.push(queued(`e${i}`, NOW - (i % 59) * MINUTE_MS));
    for (let i = 0; i < 30; i += 1) {
      events.push(queued(`s${i}`, NOW - (i % 59) * MINUTE_MS, 'sms', 'twilio'));
    }

    feed(window, events);

    const traffic = window.traffic(NOW);
    expect(traffic.windowMinutes).toBe(60);
    expect(channelOf(window, 'email')).toMatchObject({ messages: 120, messagesPerMinute: 2 });
    expect(channelOf(window, 'sms')).toMatchObject({ messages: 30, messagesPerMinute: 0.5 });
  });

  it('given no traffic on a channel, then its row is there with zeros and no failure rate (none is not 0%)', () => {
    const window = windowFrom(HOUR_AGO);

    feed(window, [queued('m1', NOW)]);

    expect(window.traffic(NOW).channels.map((c) => c.channel)).toEqual([
      'email',
      'sms',
      'push',
      'chat',
      'in_app',
      'webhook',
    ]);
    expect(channelOf(window, 'push')).toEqual({
      channel: 'push',
      messagesPerMinute: 0,
      messages: 0,
      failed: 0,
      failureRate: null,
    });
  });

  it('given reading started 10 minutes ago, then rates divide by the 11 minutes covered (the current one included)', () => {
    const window = windowFrom(NOW - 10 * MINUTE_MS);

    feed(
      window,
      Array.from({ length: 22 }, (_, i) => queued(`m${i}`, NOW - (i % 10) * MINUTE_MS)),
    );

    expect(window.traffic(NOW).windowMinutes).toBe(11);
    expect(channelOf(window, 'email').messagesPerMinute).toBe(2);
  });

  it('given reading has not started, then nothing is divided and the rate is 0', () => {
    const window = new StatusWindow();

    expect(window.traffic(NOW).windowMinutes).toBe(0);
    expect(channelOf(window, 'email').messagesPerMinute).toBe(0);
  });

  it('given a refused request (not_sent), then it is a message of its channel and a failed outcome', () => {
    const window = windowFrom(HOUR_AGO);
    const refused = queued('m1', NOW, 'sms', 'twilio');

    feed(window, [{ ...refused, type: 'not_sent', status: 'not_sent' }]);

    expect(channelOf(window, 'sms')).toMatchObject({ messages: 1, failed: 1, failureRate: 1 });
  });
});

describe('StatusWindow: failure rate by channel', () => {
  it('given 6 email outcomes of which undelivered, bounced and not_sent failed, then failed 3 and failure rate 0.5; canceled counts for neither', () => {
    const window = windowFrom(HOUR_AGO);
    const t = NOW - 5 * MINUTE_MS;
    const events: MessageEvent[] = [];
    for (const id of ['d1', 'd2', 'd3', 'u1', 'b1', 'c1']) events.push(queued(id, t));
    events.push(
      send('delivered', 'd1', t + 1_000),
      send('delivered', 'd2', t + 1_000),
      send('delivered', 'd3', t + 1_000),
      send('undelivered', 'u1', t + 1_000),
      send('sent', 'b1', t + 1_000),
      // From the status-checker: no provider on it, so the channel comes from b1's `queued`.
      event('bounced', 'b1', t + 60_000),
      event('canceled', 'c1', t + 2_000),
    );
    const refused = queued('n1', t);
    events.push({ ...refused, type: 'not_sent', status: 'not_sent' });

    feed(window, events);

    expect(channelOf(window, 'email')).toMatchObject({ messages: 7, failed: 3, failureRate: 0.5 });
  });

  it('given webhook messages that end at `sent` (no delivery receipt), then they count as through', () => {
    const window = windowFrom(HOUR_AGO);
    const t = NOW - 5 * MINUTE_MS;

    feed(window, [
      queued('w1', t, 'webhook', 'webhook'),
      queued('w2', t, 'webhook', 'webhook'),
      queued('w3', t, 'webhook', 'webhook'),
      send('delivery_attempted', 'w1', t + 100, 'webhook'),
      send('sent', 'w1', t + 200, 'webhook'),
      send('sent', 'w2', t + 100, 'webhook'),
      send('undelivered', 'w3', t + 100, 'webhook'),
    ]);

    expect(channelOf(window, 'webhook')).toMatchObject({
      messages: 3,
      failed: 1,
      failureRate: 0.3333,
    });
  });

  it('given an outcome of a message queued before reading started, then it counts under the channel its provider serves', () => {
    const window = windowFrom(HOUR_AGO);

    feed(window, [
      queued('seen', NOW - 10 * MINUTE_MS, 'sms', 'twilio'),
      // `unseen` was queued before the window: only the provider tells its channel.
      send('undelivered', 'unseen', NOW - MINUTE_MS, 'twilio'),
    ]);

    expect(channelOf(window, 'sms')).toMatchObject({ messages: 1, failed: 1, failureRate: 1 });
    expect(channelOf(window, 'email').failed).toBe(0);
  });
});

describe('StatusWindow: request → sent latency', () => {
  it('given 100 messages sent 1…100 ms after their request, then p50 is 50 ms, p99 99 ms, over 100 samples', () => {
    const window = windowFrom(HOUR_AGO);
    const events: MessageEvent[] = [];
    for (let i = 1; i <= 100; i += 1) {
      const requestedAt = NOW - 30 * MINUTE_MS + i * 1_000;
      events.push(queued(`m${i}`, requestedAt + 1, 'email', 'sendgrid', requestedAt));
      events.push(send('sent', `m${i}`, requestedAt + i));
    }

    feed(window, events);

    expect(window.latency(NOW)).toEqual({
      requestToSentP50Ms: 50,
      requestToSentP99Ms: 99,
      samples: 100,
    });
  });

  it('given a message sent twice (a resend), then only its first sent is timed', () => {
    const window = windowFrom(HOUR_AGO);
    const t = NOW - 10 * MINUTE_MS;

    feed(window, [
      queued('m1', t),
      send('sent', 'm1', t + 40),
      event('delivered', 'm1', t + 5_000),
      event('resend_requested', 'm1', t + 60_000),
      send('sent', 'm1', t + 61_000),
    ]);

    expect(window.latency(NOW)).toEqual({
      requestToSentP50Ms: 40,
      requestToSentP99Ms: 40,
      samples: 1,
    });
  });

  it('given a Slack message confirmed at send (delivered, no sent), then that delivery is its send', () => {
    const window = windowFrom(HOUR_AGO);
    const t = NOW - MINUTE_MS;

    feed(window, [queued('m1', t, 'chat', 'slack'), send('delivered', 'm1', t + 250, 'slack')]);

    expect(window.latency(NOW)).toMatchObject({ requestToSentP50Ms: 250, samples: 1 });
  });

  it('given no message sent, then the percentiles are null, not 0', () => {
    const window = windowFrom(HOUR_AGO);

    feed(window, [queued('m1', NOW)]);

    expect(window.latency(NOW)).toEqual({
      requestToSentP50Ms: null,
      requestToSentP99Ms: null,
      samples: 0,
    });
  });

  it('given 2,000 sends in one minute, then at most 256 samples are kept and the percentiles stay close', () => {
    const window = windowFrom(HOUR_AGO, { random: seeded(42) });
    const t = NOW - 3 * MINUTE_MS - 30_000;
    const events: MessageEvent[] = [];
    // Latencies 1…2000 ms, in a shuffled order (a reservoir must not depend on arrival order).
    const order = Array.from({ length: 2_000 }, (_, i) => (i * 7919) % 2_000);
    for (const i of order) {
      events.push(queued(`m${i}`, t, 'email', 'sendgrid', t));
      events.push(send('sent', `m${i}`, t + i + 1));
    }

    feed(window, events);

    const latency = window.latency(NOW);
    expect(window.size().latencySamples).toBeLessThanOrEqual(256);
    expect(latency.samples).toBe(2_000);
    // A uniform 256-sample of 1…2000: the median within ±10% of the range, p99 near the top.
    expect(Math.abs(latency.requestToSentP50Ms! - 1_000)).toBeLessThan(200);
    expect(latency.requestToSentP99Ms!).toBeGreaterThan(1_900);
  });

  it('given a quiet minute and a busy one, then each sample weighs for its minute: the busy minute sets the median', () => {
    const window = windowFrom(HOUR_AGO, {
      limits: { latencySamplesPerMinute: 10 },
      random: seeded(7),
    });
    const quiet = NOW - 20 * MINUTE_MS;
    const busy = NOW - 10 * MINUTE_MS;
    const events: MessageEvent[] = [];
    for (let i = 0; i < 10; i += 1) {
      events.push(queued(`q${i}`, quiet), send('sent', `q${i}`, quiet + 10));
    }
    for (let i = 0; i < 1_000; i += 1) {
      events.push(queued(`b${i}`, busy), send('sent', `b${i}`, busy + 5_000));
    }

    feed(window, events);

    // Unweighted, the 20 kept samples would split 10/10; weighted, 1,000 of 1,010 took 5 s.
    expect(window.latency(NOW)).toEqual({
      requestToSentP50Ms: 5_000,
      requestToSentP99Ms: 5_000,
      samples: 1_010,
    });
  });
});

describe('weightedPercentile', () => {
  it('is the nearest rank with unit weights', () => {
    const samples = Array.from({ length: 10 }, (_, i) => ({ value: i + 1, weight: 1 }));

    expect(weightedPercentile(samples, 0.5)).toBe(5);
    expect(weightedPercentile(samples, 0.99)).toBe(10);
    expect(weightedPercentile(samples, 0.1)).toBe(1);
  });

  it('follows the weights, and is null for nothing', () => {
    const samples = [
      { value: 300, weight: 1 },
      { value: 100, weight: 99 },
    ];

    expect(weightedPercentile(samples, 0.5)).toBe(100);
    expect(weightedPercentile(samples, 0.995)).toBe(300);
    expect(weightedPercentile([], 0.5)).toBeNull();
  });
});

describe('StatusWindow: the window moves on', () => {
  it('given traffic 61 minutes old, then it has left the hour: its bucket is dropped and nothing is counted', () => {
    const window = windowFrom(HOUR_AGO - 10 * MINUTE_MS);
    const old = NOW - 61 * MINUTE_MS;
    feed(window, [queued('m1', old), send('sent', 'm1', old + 10)], old + 20);
    expect(window.size().buckets).toBe(1);

    const snapshot = window.snapshot(NOW);

    expect(window.size().buckets).toBe(0);
    expect(snapshot.traffic.channels.every((c) => c.messages === 0)).toBe(true);
    expect(snapshot.latency.samples).toBe(0);
  });

  it('given an event from before the window, then it counts nothing, but its queued still times a later sent', () => {
    const window = windowFrom(HOUR_AGO);
    const requested = NOW - 70 * MINUTE_MS;

    const results = feed(window, [
      queued('m1', requested),
      send('sent', 'm1', NOW - 5 * MINUTE_MS),
    ]);

    expect(results).toEqual(['before_window', 'counted']);
    expect(channelOf(window, 'email').messages).toBe(0);
    expect(window.latency(NOW)).toMatchObject({ requestToSentP50Ms: 65 * MINUTE_MS, samples: 1 });
  });

  it('given an event stamped ahead of this clock, then it counts as now', () => {
    const window = windowFrom(HOUR_AGO);

    feed(window, [queued('m1', NOW + 5 * MINUTE_MS)]);

    expect(channelOf(window, 'email').messages).toBe(1);
    expect(window.size().buckets).toBe(1);
  });

  it('given more messages in flight than it tracks, then the oldest are forgotten (memory stays bounded)', () => {
    const window = windowFrom(HOUR_AGO, { limits: { trackedMessages: 2, rememberedEventIds: 3 } });

    feed(window, [queued('m1', NOW), queued('m2', NOW), queued('m3', NOW), queued('m4', NOW)]);

    expect(window.size()).toMatchObject({ trackedMessages: 2, eventIds: 3 });
    // m1 was forgotten: its sent cannot be timed; m4's can.
    feed(window, [send('sent', 'm1', NOW), send('sent', 'm4', NOW)]);
    expect(window.latency(NOW).samples).toBe(1);
  });

  it('given a message that reached its outcome, then it is no longer tracked', () => {
    const window = windowFrom(HOUR_AGO);

    feed(window, [queued('m1', NOW), send('delivered', 'm1', NOW)]);

    expect(window.size().trackedMessages).toBe(0);
  });
});

describe('StatusWindow: an event read twice', () => {
  it('given the same event id twice, then it counts once', () => {
    const window = windowFrom(HOUR_AGO);
    const once = queued('m1', NOW);
    const failure = send('delivery_attempted', 'm1', NOW);

    const results = feed(window, [once, failure, once, failure]);

    expect(results).toEqual(['counted', 'counted', 'duplicate', 'duplicate']);
    expect(channelOf(window, 'email').messages).toBe(1);
    expect(window.providers(NOW)).toEqual([
      expect.objectContaining({ provider: 'sendgrid', calls: 1, failed: 1 }),
    ]);
  });
});

describe('StatusWindow: provider calls over the last 5 minutes', () => {
  it('given sends and failed attempts, then each provider has its calls, failures and share', () => {
    const window = windowFrom(HOUR_AGO);
    const t = NOW - 2 * MINUTE_MS;

    feed(window, [
      send('sent', 'a', t, 'sendgrid'),
      send('delivery_attempted', 'b', t, 'sendgrid'),
      send('delivery_attempted', 'b', t + 7_000, 'sendgrid'),
      send('undelivered', 'b', t + 21_000, 'sendgrid'),
      send('delivered', 'c', t, 'slack'),
    ]);

    expect(window.providers(NOW)).toEqual([
      { provider: 'sendgrid', calls: 4, failed: 3, failureShare: 0.75, firstFailedAt: t },
      { provider: 'slack', calls: 1, failed: 0, failureShare: 0, firstFailedAt: null },
    ]);
  });

  it('given calls older than 5 minutes, then they are in the hour but not in the providers', () => {
    const window = windowFrom(HOUR_AGO);

    feed(window, [send('delivery_attempted', 'a', NOW - 6 * MINUTE_MS)]);

    expect(window.providers(NOW)).toEqual([]);
    expect(window.size().buckets).toBe(1);
  });

  it('given events that made no call (no log) or are status checks, then they are not provider calls', () => {
    const window = windowFrom(HOUR_AGO);

    feed(window, [
      // Refused before calling (invalid content): no exchange.
      event('undelivered', 'a', NOW, { provider: 'sendgrid' }),
      // A status check: no provider on it.
      event('status_check_attempted', 'b', NOW, { log: LOG }),
    ]);

    expect(window.providers(NOW)).toEqual([]);
  });
});

describe('openIncidents', () => {
  const up = (name: ComponentState['name'], kind: ComponentState['kind']): ComponentState => ({
    name,
    kind,
    state: 'up',
    since: NOW - 3_600_000,
    checkedAt: NOW,
    detail: 'ready',
  });
  const share = (provider: string, calls: number, failed: number): ProviderCallShare => ({
    provider,
    calls,
    failed,
    failureShare: failed / calls,
    firstFailedAt: failed > 0 ? NOW - 90_000 : null,
  });

  it('given every component up and providers well, then no incident', () => {
    expect(
      openIncidents({ components: [up('ingest', 'service')], providers: [share('twilio', 9, 1)] }),
    ).toEqual([]);
  });

  it('given a component down, then a component_down incident since it went down', () => {
    const down: ComponentState = {
      ...up('sender', 'service'),
      state: 'down',
      since: NOW - 12_000,
      detail: 'unreachable (ECONNREFUSED)',
    };

    expect(openIncidents({ components: [up('ingest', 'service'), down], providers: [] })).toEqual([
      {
        kind: 'component_down',
        subject: 'sender',
        since: NOW - 12_000,
        detail: 'sender is down: unreachable (ECONNREFUSED)',
      },
    ]);
  });

  it('given a provider failing 3 of 4 calls, then a provider_failing incident from its first failure', () => {
    expect(openIncidents({ components: [], providers: [share('sendgrid', 4, 3)] })).toEqual([
      {
        kind: 'provider_failing',
        subject: 'sendgrid',
        since: NOW - 90_000,
        detail: '3 of 4 calls failed in the last 5 minutes',
      },
    ]);
  });

  it.each([
    ['1 of 1 (too few calls)', 1, 1],
    ['3 of 3 (too few calls)', 3, 3],
    ['2 of 4 (half is not more than half)', 4, 2],
  ])('given a provider failing %s, then no incident', (_case, calls, failed) => {
    expect(openIncidents({ components: [], providers: [share('fcm', calls, failed)] })).toEqual([]);
  });

  it("given the webhook provider failing (tenants' own endpoints), then no public incident", () => {
    expect(openIncidents({ components: [], providers: [share('webhook', 10, 9)] })).toEqual([]);
  });

  it('given a provider incident already open, then it keeps its start while it stays open', () => {
    const previous: Incident[] = [
      { kind: 'provider_failing', subject: 'sendgrid', since: NOW - 600_000, detail: '…' },
    ];

    const [incident] = openIncidents(
      { components: [], providers: [share('sendgrid', 10, 9)] },
      previous,
    );

    expect(incident?.since).toBe(NOW - 600_000);
  });
});

describe('overallStatus', () => {
  const component = (
    name: ComponentState['name'],
    kind: ComponentState['kind'],
    state: 'up' | 'down' = 'up',
  ): ComponentState => ({ name, kind, state, since: NOW, checkedAt: NOW, detail: '' });
  const healthy = [
    component('ingest', 'service'),
    component('projector', 'service'),
    component('kafka', 'server'),
  ];

  it('is operational with everything up and no incident', () => {
    expect(overallStatus(healthy, [])).toBe('operational');
  });

  it('is a major outage when a server or ingest or the sender is down', () => {
    expect(overallStatus([...healthy, component('kafka', 'server', 'down')], [])).toBe(
      'major_outage',
    );
    expect(overallStatus([component('sender', 'service', 'down')], [])).toBe('major_outage');
  });

  it('is degraded when another component is down or a provider is failing', () => {
    expect(overallStatus([...healthy, component('projector', 'service', 'down')], [])).toBe(
      'degraded',
    );
    const failing: Incident = {
      kind: 'provider_failing',
      subject: 'twilio',
      since: NOW,
      detail: '',
    };
    expect(overallStatus(healthy, [failing])).toBe('degraded');
  });
});

describe('the status report holds no tenant data', () => {
  it('given events of a tenant, then no tenant id, message id, recipient or tenant-chosen provider name reaches the report', () => {
    const window = windowFrom(HOUR_AGO);
    const tenant = { tenantId: 'tenant-acme-secret' };
    const t = NOW - MINUTE_MS;
    const refused = queued('msg-refused-secret', t, 'sms', 'provider-named-by-tenant', t, tenant);
    feed(window, [
      queued('msg-id-secret', t, 'email', 'sendgrid', t, tenant),
      { ...send('sent', 'msg-id-secret', t + 100), ...tenant, providerMessageId: 'sg-id-secret' },
      { ...refused, type: 'not_sent', status: 'not_sent' },
    ]);

    const report = statusReport({
      now: NOW,
      components: [
        {
          name: 'ingest',
          kind: 'service',
          state: 'up',
          since: NOW,
          checkedAt: NOW,
          detail: 'ready',
        },
      ],
      window: window.snapshot(NOW),
      incidents: [],
    });
    const json = JSON.stringify(report);

    for (const secret of [
      'tenant-acme-secret',
      'msg-id-secret',
      'msg-refused-secret',
      'alice@example.com',
      'provider-named-by-tenant',
      'sg-id-secret',
      'api.example.test',
    ]) {
      expect(json).not.toContain(secret);
    }
    // …while the figures are there.
    expect(report.traffic.channels.find((c) => c.channel === 'email')?.messages).toBe(1);
    expect(report.providers).toEqual([
      { provider: 'sendgrid', calls: 1, failed: 0, failureShare: 0 },
    ]);
    expect(report.generatedAt).toBe('2026-12-03T10:30:30.000Z');
  });
});

describe('safeDetail', () => {
  it('cuts URLs to scheme and host (no userinfo, path or query) and takes configured secrets out', () => {
    const detail = safeDetail(
      'refused (mongodb://herald:hun/ter@22@db.internal:27017/herald?authSource=x). ' +
        'GET http://127.0.0.1:8081/apis?token=abc answered 401; key s3cr3t-value',
      ['s3cr3t-value'],
    );

    expect(detail).toBe(
      'refused (mongodb://db.internal:27017). GET http://127.0.0.1:8081 answered 401; key [REDACTED]',
    );
  });

  it('keeps a detail to one short line', () => {
    const detail = safeDetail(`line one\nline two ${'x'.repeat(500)}`);

    expect(detail.startsWith('line one line two')).toBe(true);
    expect(detail.length).toBeLessThanOrEqual(200);
  });
});
