import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';

/**
 * The one record at `offset` of a topic partition, read through a throwaway consumer group;
 * null when retention has already deleted it (or it never existed). For rare lookups, such as
 * a resend reading back the request it sends again: joining a group takes a moment.
 */
export async function readRecordAt(
  kafka: Kafka,
  at: { topic: string; partition: number; offset: string },
  timeoutMs = 15_000,
): Promise<KafkaMessage | null> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `herald-read-record-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, readUncommitted: false });
  try {
    const bounds = (await admin.fetchTopicOffsets(at.topic)).find(
      (p) => p.partition === at.partition,
    );
    const wanted = BigInt(at.offset);
    if (!bounds || wanted < BigInt(bounds.low) || wanted >= BigInt(bounds.high)) return null;

    let timer: NodeJS.Timeout | undefined;
    const found = new Promise<KafkaMessage | null>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${at.topic}/${at.partition}@${at.offset} not read in time`)),
        timeoutMs,
      );
      consumer.on(consumer.events.GROUP_JOIN, () => consumer.seek(at));
      consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error));
      void consumer
        .connect()
        .then(() => consumer.subscribe({ topic: at.topic }))
        .then(() =>
          consumer.run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              if (batch.partition !== at.partition) return;
              const message = batch.messages.find((m) => BigInt(m.offset) >= wanted);
              // A compacted or transactional gap: the first record at or past the offset
              // is the one, if its offset is the one asked for.
              if (message) resolve(BigInt(message.offset) === wanted ? message : null);
            },
          }),
        )
        .catch(reject);
    });
    return await found.finally(() => clearTimeout(timer));
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}
