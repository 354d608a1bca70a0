import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { HeraldConfig } from '@herald/config';
import { scheduleTask } from './scheduled-work';
import { TransactionalCommitter, type Output } from './transactional-committer';
import type { AvroCodec } from '@herald/schema-registry';
import { TOPICS } from '@herald/topics';
import { resentDelivery, type DeliverySnapshot } from '@herald/webhooks';
import { deliveryEventOutput } from './webhook-delivery-outputs';

/**
 * Resend and recover: for each finished delivery a `resent` event and its new first task, in
 * one Kafka transaction, so a delivery is never marked resent without being sent.
 */
export class DeliveryResender {
  private readonly producer: TransactionalCommitter;
  private connected: Promise<void> | undefined;

  constructor(
    config: HeraldConfig,
    kafka: Kafka,
    private readonly codec: AvroCodec,
  ) {
    // Per service (the webhooks API and the dashboard both recover), so neither fences the other.
    const group = `herald-${config.service}-api`;
    this.producer = new TransactionalCommitter(kafka, group, `${group}.${config.instanceId}`);
  }

  /** Each delivery with the body it was created with. */
  async resend(
    deliveries: readonly { delivery: DeliverySnapshot; payload: string }[],
  ): Promise<void> {
    if (deliveries.length === 0) return;
    this.connected ??= this.producer.connect();
    await this.connected;
    const outputs: Output[] = [];
    const now = Date.now();
    for (const { delivery: doc, payload } of deliveries) {
      const { event, task } = resentDelivery(
        {
          deliveryId: doc.deliveryId,
          endpointId: doc.endpointId,
          tenantId: doc.tenantId,
          messageId: doc.messageId ?? '',
          eventType: doc.eventType ?? '',
          messageEventId: doc.messageEventId ?? '',
          messageOccurredAt: doc.createdAt,
          payload,
          run: doc.run,
          seq: doc.seq,
        },
        now,
        randomUUID,
      );
      outputs.push(
        await deliveryEventOutput(this.codec, event),
        await scheduleTask(this.codec, TOPICS.webhookDeliveries.name, task),
      );
    }
    await this.producer.commit(outputs, []);
  }

  async close(): Promise<void> {
    if (this.connected) await this.producer.disconnect();
  }
}
