import { Kafka, logLevel, type Admin, type ITopicConfig } from 'kafkajs';
import type { TopicSpec } from '@herald/topics';

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
}

export function createKafka(settings: KafkaSettings): Kafka {
  return new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
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
