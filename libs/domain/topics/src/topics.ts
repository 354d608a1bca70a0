/**
 * Every Kafka topic Herald uses, declared once: name, partitions, configuration and the Avro
 * schema of its values. Topic administration and schema registration both read this list.
 */

import { DELAY_TIERS, tierTopic } from '@herald/delay-tiers';

export interface TopicSpec {
  name: string;
  partitions: number;
  /** Kafka topic-level configs (string values, as the broker takes them). */
  config: Record<string, string>;
  /** File name under schemas/ of the record this topic's values carry; null for raw bytes. */
  valueSchema: string | null;
}

/** Partitions bound how many instances of a service can share the work. */
const WORK_PARTITIONS = 12;

const DAY_MS = 24 * 3600 * 1000;

export const TOPICS = {
  messagesRequested: {
    name: 'herald.messages.requested',
    partitions: WORK_PARTITIONS,
    config: { 'retention.ms': String(7 * DAY_MS) },
    valueSchema: 'message-requested',
  },
  messageEvents: {
    name: 'herald.message-events',
    partitions: WORK_PARTITIONS,
    // The source of truth: kept forever, so the read model can always be rebuilt from it.
    config: { 'retention.ms': '-1', 'retention.bytes': '-1' },
    valueSchema: 'message-event',
  },
  deadLetter: {
    name: 'herald.dead-letter',
    partitions: 3,
    // Operators need time to look at what was refused; the original bytes are kept as they were.
    config: { 'retention.ms': String(30 * DAY_MS) },
    valueSchema: null,
  },
  deliveries: {
    name: 'herald.deliveries',
    partitions: WORK_PARTITIONS,
    // Longer than the longest policy window (72 h) so a stopped pipeline loses nothing.
    config: { 'retention.ms': String(7 * DAY_MS) },
    valueSchema: 'delivery-task',
  },
  statusChecks: {
    name: 'herald.status-checks',
    partitions: WORK_PARTITIONS,
    // Courier's checks run for 72 h; a week covers a stopped pipeline too.
    config: { 'retention.ms': String(7 * DAY_MS) },
    valueSchema: 'status-check-task',
  },
  webhookDeliveries: {
    name: 'herald.webhook-deliveries',
    partitions: WORK_PARTITIONS,
    // A delivery is retried for 3 days; a week covers a stopped pipeline too.
    config: { 'retention.ms': String(7 * DAY_MS) },
    valueSchema: 'webhook-delivery-task',
  },
  webhookDeliveryEvents: {
    name: 'herald.webhook-delivery-events',
    partitions: WORK_PARTITIONS,
    // Every attempt is a fact kept for good, so the deliveries read model can be rebuilt.
    config: { 'retention.ms': '-1', 'retention.bytes': '-1' },
    valueSchema: 'webhook-delivery-event',
  },
} as const satisfies Record<string, TopicSpec>;

/** Records waiting in a tier are only ever hops ahead of their due time; fewer partitions do. */
const TIER_PARTITIONS = 6;

function delayTopicsOf(work: TopicSpec): TopicSpec[] {
  return DELAY_TIERS.map((tier) => ({
    name: tierTopic(work.name, tier),
    partitions: TIER_PARTITIONS,
    config: work.config,
    valueSchema: work.valueSchema,
  }));
}

export const DELIVERY_DELAY_TOPICS: readonly TopicSpec[] = delayTopicsOf(TOPICS.deliveries);

export const STATUS_CHECK_DELAY_TOPICS: readonly TopicSpec[] = delayTopicsOf(TOPICS.statusChecks);

export const WEBHOOK_DELAY_TOPICS: readonly TopicSpec[] = delayTopicsOf(TOPICS.webhookDeliveries);

export const ALL_TOPICS: readonly TopicSpec[] = [
  ...Object.values(TOPICS),
  ...DELIVERY_DELAY_TOPICS,
  ...STATUS_CHECK_DELAY_TOPICS,
  ...WEBHOOK_DELAY_TOPICS,
];

/** Confluent's default TopicNameStrategy: values of topic T are registered under `T-value`. */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}
