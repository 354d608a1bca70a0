import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';

/**
 * Reads a topic from the beginning up to the end it had when called, through a throwaway
 * consumer group, and returns once every partition is done. Used to replay events (the
 * projector's rebuild) and to inspect whole topics.
 */
export async function readToEnd(
  kafka: Kafka,
  topic: string,
  eachBatch: (messages: KafkaMessage[], partition: number) => Promise<void>,
  options: { partitionsConsumedConcurrently?: number; groupPrefix?: string } = {},
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `${options.groupPrefix ?? 'herald-read-to-end'}-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, readUncommitted: false });
  try {
    const ends = new Map<number, bigint>();
    for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) {
      if (BigInt(high) > BigInt(low)) ends.set(partition, BigInt(high));
    }
    let failed: unknown;
    const done = new Promise<void>((resolve, reject) => {
      if (ends.size === 0) resolve();
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        const end = ends.get(payload.partition);
        // A batch of transaction markers only also reports its last offset, so a partition
        // that ends in a marker is recognised as done.
        if (end !== undefined && BigInt(payload.lastOffset) >= end - 1n) {
          ends.delete(payload.partition);
        }
        if (ends.size === 0) resolve();
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => reject(failed ?? payload.error));
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
      eachBatch: async ({ batch }) => {
        try {
          await eachBatch(batch.messages, batch.partition);
        } catch (error) {
          failed = error;
          throw error;
        }
      },
    });
    await done;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}
