import { randomUUID } from 'node:crypto';
import { SERVICE_PORTS, type ServiceName } from '@herald/config';
import type { MessageRequested } from '@herald/messages';
import { HERALD_METRICS } from '@herald/metrics';
import { TOPICS } from '@herald/topics';
import { waitFor } from '@tools/harness';
import { parsePrometheus, type Metrics } from '../../tools/bench/herald/metrics';
import { Herald } from '../support/herald';
import { connectTestClients, type TestClients } from '../support/kafka-clients';
import { createEndpoint, webhooksApi, type Endpoint } from '../support/webhooks';

/** Retries and status checks a few milliseconds apart. */
const SCALE = 0.01;
const run = randomUUID().slice(0, 8);
const id = (name: string) => `metrics-${name}-${run}`;
/** A fresh E.164 number, so the simulator's per-recipient script is this test's alone. */
const phone = () => `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;

/** Every service Herald has: each must name every metric. */
const SERVICES = Object.keys(SERVICE_PORTS) as ServiceName[];

/** The sum of a metric's series whose labels include `labels` (`name{…}` keys, as parsed). */
function total(metrics: Metrics, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const [key, value] of metrics) {
    const match = /^([^{]+)(?:\{(.*)\})?$/.exec(key);
    if (match?.[1] !== name) continue;
    const found = new Map(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([label, want]) => found.get(label) === want)) sum += value;
  }
  return sum;
}

describe("Herald's metrics on every service's /metrics, moved by real messages", () => {
  let herald: Herald;
  let clients: TestClients;
  let endpoint: Endpoint | undefined;

  beforeAll(async () => {
    herald = await Herald.start(
      { HERALD_TIME_SCALE: String(SCALE), HERALD_PROVIDER_TIMEOUT_MS: '1000' },
      ['status-checker', 'webhooks', 'dashboard'],
    );
    clients = await connectTestClients(`herald-test-metrics-${run}`, [TOPICS.messagesRequested]);
  });

  afterAll(async () => {
    if (endpoint) await webhooksApi(herald, 'DELETE', `/v1/webhook-endpoints/${endpoint.id}`);
    await clients?.close();
    await herald?.stop();
  });

  const metricsText = async (name: ServiceName): Promise<string> => {
    const response = await fetch(`http://127.0.0.1:${herald.service(name).port}/metrics`);
    expect(response.status).toBe(200);
    return response.text();
  };
  const scrape = async (name: ServiceName): Promise<Metrics> =>
    parsePrometheus(await metricsText(name));
  const scrapeAll = async (): Promise<Map<ServiceName, Metrics>> =>
    new Map(await Promise.all(SERVICES.map(async (name) => [name, await scrape(name)] as const)));

  it('names every Herald metric on every service, with its type, before anything is recorded', async () => {
    for (const name of SERVICES) {
      const text = await metricsText(name);
      for (const metric of HERALD_METRICS) {
        expect({
          service: name,
          line: text.includes(`# TYPE ${metric.name} ${metric.type}\n`),
        }).toEqual({
          service: name,
          line: true,
        });
      }
    }
  });

  it('counts attempts, calls, retries, status checks, dead letters, commits, projection and webhooks', async () => {
    const before = await scrapeAll();
    endpoint = await createEndpoint(herald, 'ok', id('receiver'), { eventTypes: ['message.sent'] });

    // Sent at once; a 503 then sent (one retry); an SMS Twilio reports delivered after checks.
    const ok = id('ok');
    const retried = id('retried');
    const sms = id('sms');
    const number = phone();
    await herald.script(number, { status: 'delivered-after-1500' });
    await herald.send(ok, herald.hook('ok', ok));
    await herald.send(retried, herald.hook('fail-503-1', retried));
    await herald.send(sms, number, {
      channel: 'sms',
      provider: 'twilio',
      content: { text: 'code 42' },
    });
    // Straight onto the requests topic: bytes that are not Avro (a dead letter), and a request
    // naming a provider nobody configured (refused: not_sent).
    const refused = id('refused');
    const request: MessageRequested = {
      messageId: refused,
      tenantId: 'default',
      channel: 'webhook',
      provider: 'pigeon',
      providers: [],
      recipient: herald.hook('ok', refused),
      content: { body: 'never sent' },
      retryPolicy: null,
      metadata: {},
      requestedAt: Date.now(),
    };
    const topic = TOPICS.messagesRequested.name;
    await clients.producer.send({
      topic,
      messages: [
        { key: id('garbage'), value: Buffer.from('not avro') },
        { key: refused, value: await clients.codec.encode(topic, request) },
      ],
    });

    expect((await herald.final(ok)).message.status).toBe('sent');
    expect((await herald.final(retried)).message).toMatchObject({ status: 'sent', attempts: 2 });
    // `sent` is final to herald.final; Twilio's checks take it on to `delivered`.
    await waitFor(
      `${sms} to be delivered`,
      async () => ((await herald.message(sms))?.status === 'delivered' ? true : undefined),
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect((await herald.final(refused)).message.status).toBe('not_sent');

    /** How much a metric's matching series grew on a service since `before`. */
    const grown = (
      now: Map<ServiceName, Metrics>,
      service: ServiceName,
      name: string,
      labels: Record<string, string> = {},
    ) => total(now.get(service)!, name, labels) - total(before.get(service)!, name, labels);

    // Each is recorded before (or as) what the read model shows commits, except the
    // projector's and the webhooks' own, which follow their writes: wait for those.
    const after = await waitFor(
      'the projector and webhooks metrics to count the messages',
      async () => {
        const now = await scrapeAll();
        const projected =
          grown(now, 'projector', 'herald_projector_request_to_sent_seconds_count') >= 3;
        const webhooks =
          grown(now, 'webhooks', 'herald_webhook_deliveries_total', { outcome: 'succeeded' }) >= 2;
        return projected && webhooks ? now : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const moved = (service: ServiceName, name: string, labels: Record<string, string> = {}) =>
      grown(after, service, name, labels);

    // Ingest: what it queued, refused and dead-lettered.
    expect(
      moved('ingest', 'herald_messages_accepted_total', { channel: 'webhook' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      moved('ingest', 'herald_messages_accepted_total', { channel: 'sms' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      moved('ingest', 'herald_messages_rejected_total', { reason: 'unknown_provider' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      moved('ingest', 'herald_dead_letters_total', { source: topic, reason: 'undecodable' }),
    ).toBeGreaterThanOrEqual(1);

    // Sender: attempts by provider, channel and outcome; call latency; the retry scheduled.
    const webhook = { provider: 'webhook', channel: 'webhook' };
    expect(
      moved('sender', 'herald_delivery_attempts_total', { ...webhook, outcome: 'sent' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      moved('sender', 'herald_delivery_attempts_total', { ...webhook, outcome: 'retrying' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      moved('sender', 'herald_delivery_attempts_total', {
        provider: 'twilio',
        channel: 'sms',
        outcome: 'sent',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      moved('sender', 'herald_provider_call_duration_seconds_count', webhook),
    ).toBeGreaterThanOrEqual(3);
    expect(
      moved('sender', 'herald_provider_call_duration_seconds_bucket', { ...webhook, le: '+Inf' }),
    ).toBeGreaterThanOrEqual(3);
    expect(
      moved('sender', 'herald_provider_call_duration_seconds_count', {
        provider: 'twilio',
        channel: 'sms',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      moved('sender', 'herald_retries_scheduled_total', { stage: 'deliveries' }),
    ).toBeGreaterThanOrEqual(1);

    // Status checker: Twilio answered pending (a next check scheduled), then delivered.
    const twilio = { provider: 'twilio' };
    expect(
      moved('status-checker', 'herald_status_checks_total', { ...twilio, outcome: 'delivered' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      moved('status-checker', 'herald_status_checks_total', { ...twilio, outcome: 'pending' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      moved('status-checker', 'herald_retries_scheduled_total', { stage: 'status-checks' }),
    ).toBeGreaterThanOrEqual(1);

    // Every consumer's transactions.
    const commits = 'herald_kafka_transaction_commit_duration_seconds_count';
    expect(moved('ingest', commits, { group: 'herald-ingest' })).toBeGreaterThanOrEqual(1);
    expect(moved('sender', commits, { group: 'herald-sender' })).toBeGreaterThanOrEqual(1);
    expect(
      moved('status-checker', commits, { group: 'herald-status-checker' }),
    ).toBeGreaterThanOrEqual(1);
    expect(moved('projector', commits, { group: 'herald-projector' })).toBeGreaterThanOrEqual(1);
    expect(moved('webhooks', commits)).toBeGreaterThanOrEqual(1);

    // Projector: events applied, their projection lag, request → sent.
    expect(
      moved('projector', 'herald_projector_events_applied_total', { type: 'sent' }),
    ).toBeGreaterThanOrEqual(3);
    expect(
      moved('projector', 'herald_projector_projection_lag_seconds_count'),
    ).toBeGreaterThanOrEqual(10);
    expect(
      moved('projector', 'herald_projector_request_to_sent_seconds_bucket', { le: '+Inf' }),
    ).toBeGreaterThanOrEqual(3);

    // Webhooks: the endpoint got the three messages' `message.sent` events.
    expect(
      moved('webhooks', 'herald_webhook_delivery_latency_seconds_count'),
    ).toBeGreaterThanOrEqual(2);
    expect(moved('webhooks', 'herald_webhook_call_duration_seconds_count')).toBeGreaterThanOrEqual(
      2,
    );
  });

  // The series appear once libs/edge/kafka's consumers call recordConsumerLag after each batch.
  it('serves consumer lag as a gauge on every service', async () => {
    for (const name of SERVICES) {
      expect(await metricsText(name)).toContain('# TYPE herald_consumer_lag gauge\n');
    }
  });
});
