import { Counter, Gauge, Histogram } from 'prom-client';
import type { AttemptOutcome, StatusCheckResult } from '@herald/decisions';
import { routeFor } from '@herald/delay-tiers';

/**
 * Herald's own Prometheus metrics, declared in this one place (name, help, labels, buckets) and
 * registered on prom-client's default registry when this module loads. Every service loads it
 * (through @herald/kafka and the platform's /metrics controller), so every service's /metrics
 * names every metric; a labelled one has samples only on the services that record it. Only
 * counters, gauges and histograms: unlike summaries, they add up across replicas
 * (`sum by (le) (rate(..._bucket[5m]))` then `histogram_quantile`).
 *
 * Label values are bounded: providers, channels, topics and consumer groups are Herald's own
 * configuration, outcomes and reasons are the fixed words listed with each metric.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** What a metric is, as declared: what the dashboard check and the docs read. */
export interface MetricDeclaration {
  name: string;
  type: MetricType;
  help: string;
  labelNames: readonly string[];
  /** Upper bounds of a histogram's buckets, in the metric's unit (seconds). */
  buckets?: readonly number[];
}

const declarations: MetricDeclaration[] = [];

function counter<L extends string>(spec: {
  name: string;
  help: string;
  labelNames: readonly L[];
}): Counter<L> {
  declarations.push({ ...spec, type: 'counter' });
  return new Counter({ ...spec, labelNames: [...spec.labelNames] });
}

function gauge<L extends string>(spec: {
  name: string;
  help: string;
  labelNames: readonly L[];
}): Gauge<L> {
  declarations.push({ ...spec, type: 'gauge' });
  return new Gauge({ ...spec, labelNames: [...spec.labelNames] });
}

function histogram<L extends string>(spec: {
  name: string;
  help: string;
  labelNames: readonly L[];
  buckets: readonly number[];
}): Histogram<L> {
  declarations.push({ ...spec, type: 'histogram' });
  return new Histogram({ ...spec, labelNames: [...spec.labelNames], buckets: [...spec.buckets] });
}

/** Calls to providers: up to HERALD_PROVIDER_TIMEOUT_MS (10 s by default) and a little past it. */
const CALL_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Kafka transactions: a few milliseconds when all is well, seconds through a broker outage. */
const COMMIT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * End-to-end latencies, 5 ms to 60 s, fine enough that a quantile interpolated within a bucket
 * (histogram_quantile, and the bench) is close to the true one around the targets (500 ms).
 */
export const LATENCY_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.75, 1, 1.25, 1.5, 2,
  2.5, 3, 4, 5, 7.5, 10, 15, 20, 30, 45, 60,
];

/** How one send attempt ended, as the sender decided after it (afterAttempt). */
export type AttemptOutcomeLabel =
  'sent' | 'delivered' | 'retrying' | 'failover' | 'failed' | 'canceled';

/** What a status check heard: the provider's answer, or `error` when asking failed. */
export type StatusCheckOutcomeLabel = 'delivered' | 'pending' | 'bounced' | 'undelivered' | 'error';

/** Why a record went to herald.dead-letter, in a word (the headers carry the full reason). */
export type DeadLetterReason =
  /** Its bytes cannot be decoded: not the Confluent wire format, or an unknown schema. */
  | 'undecodable'
  /** Decoded, but it cannot name a message (ingest: an unusable messageId or tenantId). */
  | 'invalid_record'
  /** Handling it kept failing (3 tries), or the read model refused its write. */
  | 'gave_up';

export const heraldMetrics = {
  // Ingest.
  messagesAccepted: counter({
    name: 'herald_messages_accepted_total',
    help: 'Requests ingest queued for delivery (a `queued` event and the first task), by channel',
    labelNames: ['channel'],
  }),
  messagesRejected: counter({
    name: 'herald_messages_rejected_total',
    help: 'Requests ingest refused (`not_sent`), by error code: invalid_request, unknown_provider, invalid_recipient, unknown_retry_policy',
    labelNames: ['reason'],
  }),

  // Sender.
  deliveryAttempts: counter({
    name: 'herald_delivery_attempts_total',
    help: 'Send attempts, by provider, channel and outcome: sent, delivered, retrying, failover (to the next provider), failed (undelivered), canceled (during the call)',
    labelNames: ['provider', 'channel', 'outcome'],
  }),
  providerCallDuration: histogram({
    name: 'herald_provider_call_duration_seconds',
    help: "How long providers' send calls took, answered or not, by provider and channel",
    labelNames: ['provider', 'channel'],
    buckets: CALL_BUCKETS,
  }),

  // Sender and status checker.
  retriesScheduled: counter({
    name: 'herald_retries_scheduled_total',
    help: 'Retries scheduled, by stage (deliveries, status-checks) and the delay tier they wait in first (250ms … 1h, or work when due within 250 ms)',
    labelNames: ['stage', 'tier'],
  }),

  // Status checker.
  statusChecks: counter({
    name: 'herald_status_checks_total',
    help: 'Delivery-status checks, by provider and outcome: delivered, pending, bounced, undelivered, error (asking failed)',
    labelNames: ['provider', 'outcome'],
  }),

  // Every consumer.
  deadLetters: counter({
    name: 'herald_dead_letters_total',
    help: 'Records written to herald.dead-letter, by source topic and reason: undecodable, invalid_record, gave_up',
    labelNames: ['source', 'reason'],
  }),
  consumerLag: gauge({
    name: 'herald_consumer_lag',
    help: "Records behind the end of the partition after this member's last batch, by consumer group, topic and partition",
    labelNames: ['group', 'topic', 'partition'],
  }),
  transactionCommitDuration: histogram({
    name: 'herald_kafka_transaction_commit_duration_seconds',
    help: "How long a consumer group's transactions took (outputs, offsets and commit), by group",
    labelNames: ['group'],
    buckets: COMMIT_BUCKETS,
  }),

  // Projector.
  eventsApplied: counter({
    name: 'herald_projector_events_applied_total',
    help: 'Events newly applied to the read model (written to MongoDB), by event type',
    labelNames: ['type'],
  }),
  projectionLag: histogram({
    name: 'herald_projector_projection_lag_seconds',
    help: "From an event's append to herald.message-events to its read-model write completing",
    labelNames: [],
    buckets: LATENCY_BUCKETS,
  }),
  requestToSent: histogram({
    name: 'herald_projector_request_to_sent_seconds',
    help: "From a message's requestedAt to its first `sent` (or synchronous `delivered`) being readable",
    labelNames: [],
    buckets: LATENCY_BUCKETS,
  }),

  // Webhooks service (apps/webhooks records them).
  webhookDeliveries: counter({
    name: 'herald_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome (succeeded, retrying, failed) and deliveries dropped',
    labelNames: ['outcome'],
  }),
  webhookDeliveryLatency: histogram({
    name: 'herald_webhook_delivery_latency_seconds',
    help: "From the message event's occurrence to the endpoint's 2xx",
    labelNames: [],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
  }),
  webhookCallDuration: histogram({
    name: 'herald_webhook_call_duration_seconds',
    help: 'How long calls to endpoints took, answered or not',
    labelNames: [],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
  }),
  webhookEndpointsDisabled: counter({
    name: 'herald_webhook_endpoints_disabled_total',
    help: 'Endpoints disabled by Herald, by reason (gone: it answered 410; failing: 5 days of failures)',
    labelNames: ['reason'],
  }),
  webhookCallsHandedOff: counter({
    name: 'herald_webhook_calls_handed_off_total',
    help: 'Calls slower than HERALD_WEBHOOK_SLOW_AFTER_MS, finished outside their batch',
    labelNames: [],
  }),
  webhookDeliveriesDeferred: counter({
    name: 'herald_webhook_deliveries_deferred_total',
    help: 'Deliveries put back for a second because their endpoint had its most calls in flight',
    labelNames: [],
  }),
};

/** Every metric above, as declared. */
export const HERALD_METRICS: readonly MetricDeclaration[] = declarations;

/** How an attempt's decision reads as an outcome label. */
export function attemptOutcomeLabel(outcome: AttemptOutcome): AttemptOutcomeLabel {
  const types = outcome.events.map((event) => event.type);
  if (types.includes('canceled')) return 'canceled';
  if (types.includes('provider_failover')) return 'failover';
  if (types[0] === 'sent' || types[0] === 'delivered') return types[0];
  return outcome.retry ? 'retrying' : 'failed';
}

/** Counts one send attempt the sender decided on. */
export function recordAttempt(
  task: { provider: string; channel: string },
  outcome: AttemptOutcome,
): void {
  heraldMetrics.deliveryAttempts.inc({
    provider: task.provider,
    channel: task.channel,
    outcome: attemptOutcomeLabel(outcome),
  });
}

/** Starts timing a provider's send call; call what it returns when the call has ended. */
export function startProviderCall(provider: string, channel: string): () => void {
  const end = heraldMetrics.providerCallDuration.startTimer({ provider, channel });
  return () => {
    end();
  };
}

/** Counts a retry (a next attempt or a next status check) as it is scheduled, by its first tier. */
export function recordRetryScheduled(
  stage: 'deliveries' | 'status-checks',
  dueAt: number,
  now = Date.now(),
): void {
  const route = routeFor(dueAt, now);
  heraldMetrics.retriesScheduled.inc({ stage, tier: route === 'work' ? 'work' : route.label });
}

export function statusCheckOutcomeLabel(result: StatusCheckResult): StatusCheckOutcomeLabel {
  return result.ok ? result.outcome : 'error';
}

/** Counts one status check by what the provider answered. */
export function recordStatusCheck(provider: string, result: StatusCheckResult): void {
  heraldMetrics.statusChecks.inc({ provider, outcome: statusCheckOutcomeLabel(result) });
}

export function recordDeadLetter(sourceTopic: string, reason: DeadLetterReason): void {
  heraldMetrics.deadLetters.inc({ source: sourceTopic, reason });
}

/** Series of herald_consumer_lag set so far, by group, so a rebalance can drop its own. */
const lagSeries = new Map<string, Set<string>>();

/**
 * Records how far a consumer group's member is behind the end of a partition (kafkajs: the
 * batch's `offsetLag()`, the high watermark minus the batch's last offset, minus one).
 */
export function recordConsumerLag(
  group: string,
  topic: string,
  partition: number,
  lag: number,
): void {
  if (!Number.isFinite(lag)) return;
  const series = lagSeries.get(group) ?? new Set<string>();
  series.add(`${topic}\u0000${partition}`);
  lagSeries.set(group, series);
  heraldMetrics.consumerLag.set({ group, topic, partition: String(partition) }, Math.max(0, lag));
}

/**
 * Drops a group's lag series (after a rebalance, when this member may no longer own the
 * partitions it last reported on); the partitions it still owns report again at their next
 * batch. Without it a partition that moved to another member would be counted twice.
 */
export function forgetConsumerLag(group: string): void {
  for (const key of lagSeries.get(group) ?? []) {
    const [topic = '', partition = ''] = key.split('\u0000');
    heraldMetrics.consumerLag.remove({ group, topic, partition });
  }
  lagSeries.delete(group);
}

/** Times a consumer group's transaction; call what it returns once the commit succeeded. */
export function startTransactionCommit(group: string): () => void {
  const end = heraldMetrics.transactionCommitDuration.startTimer({ group });
  return () => {
    end();
  };
}
