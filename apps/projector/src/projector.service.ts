import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { HeraldConfig } from '@herald/config';
import type { MessageEvent } from '@herald/messages';
import {
  decodeOrDeadLetter,
  runBatchConsumer,
  type Output,
  type RunningConsumer,
} from '@herald/pipeline';
import { AVRO_CODEC, HERALD_CONFIG, KAFKA } from '@herald/platform';
import type { AvroCodec } from '@herald/schema-registry';
import { TOPICS } from '@herald/topics';
import { recordApplied } from './projector.metrics';
import { ReadModelStore } from './read-model-store';

export const PROJECTOR_GROUP = 'herald-projector';

/** Decodes a batch of events; undecodable records become dead letters instead of stalling. */
export async function decodeEvents(
  codec: AvroCodec,
  messages: KafkaMessage[],
  source: { topic: string; partition: number },
  logger: Logger,
): Promise<{ events: MessageEvent[]; appendedAt: Map<string, number>; deadLetters: Output[] }> {
  const events: MessageEvent[] = [];
  // When each event was appended to the topic (its Kafka timestamp), by eventId.
  const appendedAt = new Map<string, number>();
  const deadLetters: Output[] = [];
  for (const message of messages) {
    const decoded = await decodeOrDeadLetter<MessageEvent>(
      codec,
      message,
      { ...source, service: 'projector' },
      logger,
    );
    if (decoded.ok) {
      events.push(decoded.value);
      appendedAt.set(decoded.value.eventId, Number(message.timestamp));
    } else {
      deadLetters.push(decoded.deadLetter);
    }
  }
  return { events, appendedAt, deadLetters };
}

/** Consumes herald.message-events into the MongoDB read model. */
@Injectable()
export class ProjectorService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Projector');
  private consumer: RunningConsumer | undefined;

  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(AVRO_CODEC) private readonly codec: AvroCodec,
    @Inject(ReadModelStore) private readonly store: ReadModelStore,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.store.ensureIndexes();
    this.consumer = await runBatchConsumer({
      kafka: this.kafka,
      groupId: PROJECTOR_GROUP,
      topics: [TOPICS.messageEvents.name],
      instanceId: this.config.instanceId,
      sessionTimeoutMs: this.config.sessionTimeoutMs,
      partitionsConsumedConcurrently: this.config.partitionConcurrency,
      handleBatch: async (messages, topic, partition) => {
        const { events, appendedAt, deadLetters } = await decodeEvents(
          this.codec,
          messages,
          { topic, partition },
          this.logger,
        );
        const applied = await this.store.write(events);
        recordApplied(
          applied.map(({ event, requestedAt, firstSend }) => ({
            type: event.type,
            appendedAt: appendedAt.get(event.eventId) ?? Date.now(),
            requestedAt,
            firstSend,
          })),
          Date.now(),
        );
        return deadLetters;
      },
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.consumer?.stop();
  }
}
