import { Logger } from '@nestjs/common';
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { HeraldConfig } from '@herald/config';
import {
  createKafka,
  decodeOrDeadLetter,
  kafkaAuthenticationFailure,
  readToEnd,
  runBatchConsumer,
  type Output,
  type RunningConsumer,
} from '@herald/kafka';
import { createMongoClient, heraldDb, WebhookDeliveryStore } from '@herald/mongo';
import { AvroCodec, resolveSchemaDir } from '@herald/schema-registry';
import { TOPICS } from '@herald/topics';
import type { WebhookDeliveryEvent } from '@herald/webhooks';

export const DELIVERY_PROJECTION_GROUP = 'herald-webhooks-projection';

const logger = new Logger('WebhookDeliveriesProjection');

/** Decodes a batch and writes it to the deliveries read model; returns its dead letters. */
async function project(
  codec: AvroCodec,
  store: WebhookDeliveryStore,
  messages: KafkaMessage[],
  partition: number,
): Promise<{ deadLetters: Output[]; events: number }> {
  const topic = TOPICS.webhookDeliveryEvents.name;
  const events: WebhookDeliveryEvent[] = [];
  const deadLetters: Output[] = [];
  for (const message of messages) {
    const decoded = await decodeOrDeadLetter<WebhookDeliveryEvent>(
      codec,
      message,
      { topic, partition, service: 'webhooks' },
      logger,
    );
    if (decoded.ok) events.push(decoded.value);
    else deadLetters.push(decoded.deadLetter);
  }
  await store.write(events);
  return { deadLetters, events: events.length };
}

/** The live projection: each batch written, then its offset committed. */
export function runDeliveryProjection(
  config: HeraldConfig,
  kafka: Kafka,
  codec: AvroCodec,
  store: WebhookDeliveryStore,
): Promise<RunningConsumer> {
  return runBatchConsumer({
    kafka,
    groupId: DELIVERY_PROJECTION_GROUP,
    topics: [TOPICS.webhookDeliveryEvents.name],
    instanceId: config.instanceId,
    sessionTimeoutMs: config.sessionTimeoutMs,
    shutdownGraceMs: config.shutdownGraceMs,
    partitionsConsumedConcurrently: config.partitionConcurrency,
    handleBatch: async (messages, _topic, partition) =>
      (await project(codec, store, messages, partition)).deadLetters,
  });
}

/**
 * `node dist/apps/webhooks/main.js rebuild`: drops the deliveries read model and replays
 * herald.webhook-delivery-events through the same projection. The webhooks services must be
 * stopped first; endpoints are configuration (not a projection) and are kept.
 */
export async function rebuildDeliveries(config: HeraldConfig): Promise<{ events: number }> {
  const kafka = createKafka(config.kafka);
  const admin = kafka.admin();
  await admin.connect().catch((error: unknown) => {
    throw kafkaAuthenticationFailure(error, config.kafka) ?? error;
  });
  const mongo = await createMongoClient(config.mongodbUri).connect();
  try {
    const { groups } = await admin.describeGroups([DELIVERY_PROJECTION_GROUP]);
    const live = groups[0];
    if (live && live.members.length > 0) {
      throw new Error(
        `${live.members.length} webhooks service(s) are consuming (group ${DELIVERY_PROJECTION_GROUP} is ${live.state}); stop them first`,
      );
    }
    const db = heraldDb(mongo, config.mongodbUri);
    const store = new WebhookDeliveryStore(db);
    await store.dropAll();
    const codec = AvroCodec.connect(
      config.schemaRegistryUrl,
      resolveSchemaDir(config.schemaDir),
      config.schemaRegistryAuth,
    );
    let replayed = 0;
    await readToEnd(
      kafka,
      TOPICS.webhookDeliveryEvents.name,
      async (records, partition) => {
        replayed += (await project(codec, store, records, partition)).events;
      },
      {
        partitionsConsumedConcurrently: config.partitionConcurrency,
        groupPrefix: 'herald-webhooks-rebuild',
      },
    );
    logger.log(`rebuilt the deliveries from ${replayed} event(s)`);
    return { events: replayed };
  } finally {
    await admin.disconnect();
    await mongo.close();
  }
}
