import { Kafka, logLevel, type Admin, type ITopicConfig } from 'kafkajs';
import type { KafkaSasl, KafkaTls } from '@herald/config';
import type { TopicSpec } from '@herald/topics';

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  /** SASL over the connection (SASL_PLAINTEXT, or SASL_SSL with `ssl`). */
  sasl?: KafkaSasl;
  /** TLS to the brokers. */
  ssl?: KafkaTls;
}

export function createKafka(settings: KafkaSettings): Kafka {
  return new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    ...(settings.sasl ? { sasl: { ...settings.sasl } } : {}),
    ...(settings.ssl ? { ssl: { ...settings.ssl } } : {}),
    logLevel: logLevel.WARN,
    connectionTimeout: 3000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5000 },
  });
}

/**
 * Creates every declared topic that does not exist yet. Safe to run from every instance of
 * every service at once: a topic another instance has just created is not an error. An
 * existing topic keeps its partitions; a declared config that differs is reported, not forced.
 */
export async function ensureTopics(admin: Admin, topics: readonly TopicSpec[]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing: ITopicConfig[] = topics
    .filter((topic) => !existing.has(topic.name))
    .map((topic) => ({
      topic: topic.name,
      numPartitions: topic.partitions,
      replicationFactor: -1, // the broker's default.replication.factor
      configEntries: Object.entries(topic.config).map(([name, value]) => ({ name, value })),
    }));
  if (missing.length > 0) {
    // createTopics resolves false (not an error) when a topic already exists, e.g. created
    // by another instance between listTopics and here.
    await admin.createTopics({ topics: missing, waitForLeaders: true });
  }
}

/** A short-lived request that succeeds only while a broker answers. */
export async function pingKafka(admin: Admin): Promise<void> {
  const cluster = await admin.describeCluster();
  if (cluster.brokers.length === 0) throw new Error('no brokers in cluster metadata');
}

/**
 * A broker refused the configured SASL credentials. kafkajs gives up on these at once (they are
 * not retriable), so a service with a wrong password stops within a second, saying so.
 */
export class KafkaAuthenticationError extends Error {
  constructor(settings: KafkaSettings, reason: string) {
    const who = settings.sasl
      ? `for user '${settings.sasl.username}' (mechanism ${settings.sasl.mechanism})`
      : '(no SASL configured: set KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD)';
    super(
      `cannot connect to Kafka at ${settings.brokers.join(',')}: SASL authentication failed ${who}: ${reason}`,
    );
    this.name = 'KafkaAuthenticationError';
  }
}

/**
 * The KafkaAuthenticationError behind `error` (kafkajs's KafkaJSSASLAuthenticationError, however
 * deeply wrapped), or undefined when `error` is about something else. The password is taken out
 * of the broker's reason in case a broker ever echoes it.
 */
export function kafkaAuthenticationFailure(
  error: unknown,
  settings: KafkaSettings,
): KafkaAuthenticationError | undefined {
  const seen = new Set<unknown>();
  for (let current = error; current instanceof Error && !seen.has(current);) {
    seen.add(current);
    if (current instanceof KafkaAuthenticationError) return current;
    if (current.name === 'KafkaJSSASLAuthenticationError') {
      const password = settings.sasl?.password;
      const reason = password
        ? current.message.split(password).join('[REDACTED]')
        : current.message;
      return new KafkaAuthenticationError(settings, reason);
    }
    current = current.cause ?? (current as { originalError?: unknown }).originalError;
  }
  return undefined;
}
