import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { HeraldConfig } from '@herald/config';
import {
  consumerSettingsFrom,
  decodeOrDeadLetter,
  runWorkConsumer,
  scheduleTask,
  type Output,
  type RunningConsumer,
} from '@herald/kafka';
import type { MessageEvent } from '@herald/messages';
import { AVRO_CODEC, HERALD_CONFIG, KAFKA } from '@herald/platform';
import { toApiEvent, toApiMessage, toEventDocument } from '@herald/read-model';
import type { AvroCodec } from '@herald/schema-registry';
import { TOPICS } from '@herald/topics';
import { newDelivery, receives, webhookEventType, webhookPayload } from '@herald/webhooks';
import { EndpointDirectory } from './endpoint-directory';
import { deliveryEventOutput, deliveryIdOf } from '@herald/kafka';
import { MessageStates } from './message-states';

export const FAN_OUT_GROUP = 'herald-webhooks-fan-out';

/**
 * Consumes herald.message-events and turns each event into one delivery per endpoint of its
 * tenant that takes its type: a `created` event and the first task, written with the consumed
 * offset in one transaction, so a crash neither loses nor doubles a delivery.
 */
@Injectable()
export class FanOutService {
  private readonly logger = new Logger('WebhookFanOut');

  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(AVRO_CODEC) private readonly codec: AvroCodec,
    @Inject(EndpointDirectory) private readonly directory: EndpointDirectory,
    @Inject(MessageStates) private readonly states: MessageStates,
  ) {}

  start(): Promise<RunningConsumer> {
    return runWorkConsumer({
      kafka: this.kafka,
      groupId: FAN_OUT_GROUP,
      topics: [TOPICS.messageEvents.name],
      ...consumerSettingsFrom(this.config),
      // One event at a time, in partition order: a message's state is folded event by event
      // (MessageStates), and fanning out is quick (a cached lookup and a few encodes).
      maxInFlight: 1,
      service: 'webhooks',
      logger: this.logger,
      handle: (message, topic, partition) => this.fanOut(message, topic, partition),
    });
  }

  private async fanOut(message: KafkaMessage, topic: string, partition: number): Promise<Output[]> {
    const decoded = await decodeOrDeadLetter<MessageEvent>(
      this.codec,
      message,
      { topic, partition, service: 'webhooks' },
      this.logger,
    );
    if (!decoded.ok) return [decoded.deadLetter];
    const event = decoded.value;
    const ofTenant = await this.directory.ofTenant(event.tenantId, event.occurredAt);
    if (!ofTenant.some((endpoint) => endpoint.enabled)) return [];
    // Every event of a tenant with endpoints is folded, subscribed or not, so the state that
    // goes into a payload is known here without reading the read model.
    const state = await this.states.after(event);
    const endpoints = ofTenant.filter((endpoint) => receives(endpoint, event));
    if (endpoints.length === 0) return [];

    const payload = webhookPayload(toApiMessage(state), toApiEvent(toEventDocument(event)));
    const now = Date.now();
    const outputs: Output[] = [];
    for (const endpoint of endpoints) {
      const { event: created, task } = newDelivery(
        {
          deliveryId: deliveryIdOf(endpoint.id, event.eventId),
          endpointId: endpoint.id,
          tenantId: event.tenantId,
          messageId: event.messageId,
          eventType: webhookEventType(event.type),
          messageEventId: event.eventId,
          messageOccurredAt: event.occurredAt,
          payload,
        },
        now,
        randomUUID,
      );
      outputs.push(
        await deliveryEventOutput(this.codec, created),
        await scheduleTask(this.codec, TOPICS.webhookDeliveries.name, task),
      );
    }
    return outputs;
  }
}
