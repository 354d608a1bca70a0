import { Logger } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import type { Db } from 'mongodb';
import type { HeraldConfig } from '@herald/config';
import { createKafka, kafkaAuthenticationFailure, readToEnd } from '@herald/kafka';
import { createMongoClient, EVENTS, heraldDb, MESSAGES, ReadModelStore } from '@herald/mongo';
import { AvroCodec, resolveSchemaDir } from '@herald/schema-registry';
import { TOPICS } from '@herald/topics';
import { decodeRecords } from './decode-records';
import { PROJECTOR_GROUP } from './projection';

/** What a rebuild replays with: the Kafka client, Herald's database and the Avro codec. */
export interface RebuildConnections {
  kafka: Kafka;
  db: Db;
  codec: AvroCodec;
}

/**
 * Opens what a rebuild needs, refuses while consumer group `groupId` has members (the live
 * consumers, `consumers` naming them, would race the replay), runs `replay`, and closes.
 */
export async function withRebuildConnections<T>(
  config: HeraldConfig,
  groupId: string,
  consumers: string,
  replay: (connections: RebuildConnections) => Promise<T>,
): Promise<T> {
  const kafka = createKafka(config.kafka);
  const admin = kafka.admin();
  await admin.connect().catch((error: unknown) => {
    throw kafkaAuthenticationFailure(error, config.kafka) ?? error;
  });
  const mongo = await createMongoClient(config.mongodbUri).connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    const live = groups[0];
    if (live && live.members.length > 0) {
      throw new Error(
        `${live.members.length} ${consumers} are consuming (group ${groupId} is ${live.state}); stop them first`,
      );
    }
    const codec = AvroCodec.connect(
      config.schemaRegistryUrl,
      resolveSchemaDir(config.schemaDir),
      config.schemaRegistryAuth,
    );
    return await replay({ kafka, db: heraldDb(mongo, config.mongodbUri), codec });
  } finally {
    await admin.disconnect();
    await mongo.close();
  }
}

/**
 * `npm run projector:rebuild`: drops the read model and replays herald.message-events from the
 * beginning through the same projection code the live projector runs. Live projectors must be
 * stopped first (their documents would race the replay); this refuses to run otherwise.
 */
export async function rebuildReadModel(
  config: HeraldConfig,
): Promise<{ events: number; messages: number }> {
  const logger = new Logger('Rebuild');
  return withRebuildConnections(
    config,
    PROJECTOR_GROUP,
    'projector(s)',
    async ({ kafka, db, codec }) => {
      for (const name of [MESSAGES, EVENTS])
        await db
          .collection(name)
          .drop()
          .catch(() => undefined);
      const writer = new ReadModelStore(db);
      await writer.ensureIndexes();

      const topic = TOPICS.messageEvents.name;
      let replayed = 0;
      await readToEnd(
        kafka,
        topic,
        async (records, partition) => {
          // Records that were dead-lettered when first seen are skipped again.
          const decoded = await decodeRecords(codec, records, { topic, partition }, logger);
          const events = decoded.flatMap((record) => ('event' in record ? [record.event] : []));
          await writer.write(events);
          replayed += events.length;
        },
        {
          partitionsConsumedConcurrently: config.partitionConcurrency,
          groupPrefix: 'herald-projector-rebuild',
        },
      );
      const messages = await writer.messages.countDocuments();
      logger.log(`rebuilt ${messages} message(s) from ${replayed} event(s)`);
      return { events: replayed, messages };
    },
  );
}
