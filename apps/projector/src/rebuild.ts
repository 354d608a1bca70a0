import { Logger } from '@nestjs/common';
import type { HeraldConfig } from '@herald/config';
import { createKafka } from '@herald/kafka';
import { createMongoClient, heraldDb } from '@herald/mongo';
import { AvroCodec, resolveSchemaDir } from '@herald/schema-registry';
import { TOPICS } from '@herald/topics';
import { EVENTS, MESSAGES, ProjectionWriter } from './projection-writer';
import { decodeEvents, PROJECTOR_GROUP } from './projector.service';

/**
 * `npm run projector:rebuild`: drops the read model and replays herald.message-events from the
 * beginning through the same projection code the live projector runs. Live projectors must be
 * stopped first (their documents would race the replay); this refuses to run otherwise.
 */
export async function rebuildReadModel(
  config: HeraldConfig,
): Promise<{ events: number; messages: number }> {
  const logger = new Logger('Rebuild');
  const kafka = createKafka(config.kafka);
  const admin = kafka.admin();
  await admin.connect();
  const mongo = await createMongoClient(config.mongodbUri).connect();
  const rebuildGroup = `herald-projector-rebuild-${Date.now()}`;
  const consumer = kafka.consumer({ groupId: rebuildGroup, readUncommitted: false });
  try {
    const { groups } = await admin.describeGroups([PROJECTOR_GROUP]);
    const live = groups[0];
    if (live && live.members.length > 0) {
      throw new Error(
        `${live.members.length} projector(s) are consuming (group ${PROJECTOR_GROUP} is ${live.state}); stop them first`,
      );
    }

    const db = heraldDb(mongo, config.mongodbUri);
    for (const name of [MESSAGES, EVENTS])
      await db
        .collection(name)
        .drop()
        .catch(() => undefined);
    const writer = new ProjectionWriter(db);
    await writer.ensureIndexes();
    const codec = AvroCodec.connect(config.schemaRegistryUrl, resolveSchemaDir(config.schemaDir));

    const topic = TOPICS.messageEvents.name;
    const ends = new Map<number, bigint>();
    for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) {
      if (BigInt(high) > BigInt(low)) ends.set(partition, BigInt(high));
    }
    logger.log(`replaying ${ends.size} non-empty partition(s) of ${topic}`);
    let replayed = 0;
    const caughtUp = new Promise<void>((resolve) => {
      if (ends.size === 0) resolve();
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        const end = ends.get(payload.partition);
        // A batch of transaction markers only also reports its last offset, so a partition
        // that ends in a marker is recognised as done.
        if (end !== undefined && BigInt(payload.lastOffset) >= end - 1n)
          ends.delete(payload.partition);
        if (ends.size === 0) resolve();
      });
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: config.partitionConcurrency,
      eachBatch: async ({ batch }) => {
        const { events } = await decodeEvents(codec, batch.messages, batch, logger);
        await writer.write(events);
        replayed += events.length;
      },
    });
    await caughtUp;
    const messages = await writer.messages.countDocuments();
    logger.log(`rebuilt ${messages} message(s) from ${replayed} event(s)`);
    return { events: replayed, messages };
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([rebuildGroup]).catch(() => undefined);
    await admin.disconnect();
    await mongo.close();
  }
}
