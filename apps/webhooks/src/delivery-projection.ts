import { Logger } from '@nestjs/common';
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { HeraldConfig } from '@herald/config';
import {
  consumerSettingsFrom,
  decodeOrDeadLetter,
  readToEnd,
  runBatchConsumer,
  type Output,
  type RunningConsumer,
} from '@herald/kafka';
import { WebhookDeliveryStore } from '@herald/mongo';
import { withRebuildConnections } from '@herald/projection';
import type { AvroCodec } from '@herald/schema-registry';
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
    ...consumerSettingsFrom(config),
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
  return withRebuildConnections(
    config,
    DELIVERY_PROJECTION_GROUP,
    'webhooks service(s)',
    async ({ kafka, db, codec }) => {
      const store = new WebhookDeliveryStore(db);
      await store.dropAll();
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
    },
  );
}
