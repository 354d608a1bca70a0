/**
 * Every Kafka topic Herald uses, declared once: name, partitions, configuration and the Avro
 * schema of its values. Topic administration and schema registration both read this list.
 */

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

export const TOPICS = {
  messagesRequested: {
    name: 'herald.messages.requested',
    partitions: WORK_PARTITIONS,
    config: { 'retention.ms': String(7 * 24 * 3600 * 1000) },
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
    config: { 'retention.ms': String(30 * 24 * 3600 * 1000) },
    valueSchema: null,
  },
} as const satisfies Record<string, TopicSpec>;

export const ALL_TOPICS: readonly TopicSpec[] = Object.values(TOPICS);

/** Confluent's default TopicNameStrategy: values of topic T are registered under `T-value`. */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}
