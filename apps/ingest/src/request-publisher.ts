import {
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import type { MessageRequested } from '@herald/messages';
import { AVRO_CODEC, KAFKA } from '@herald/platform';
import type { AvroCodec } from '@herald/schema-registry';
import { TOPICS } from '@herald/topics';

/** How long a caller waits for Kafka before getting 503 (the producer itself retries forever). */
const SEND_DEADLINE_MS = 10_000;

/** Puts requests accepted over HTTP on herald.messages.requested. */
@Injectable()
export class RequestPublisher implements OnModuleInit, OnApplicationShutdown {
  private readonly producer: Producer;

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    @Inject(AVRO_CODEC) private readonly codec: AvroCodec,
  ) {
    this.producer = kafka.producer({
      idempotent: true,
      // Idempotence needs unbounded retries; publish() bounds the caller's wait instead.
      retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 5_000 },
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  onModuleInit(): Promise<void> {
    return this.producer.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.producer.disconnect();
  }

  async publish(request: MessageRequested): Promise<void> {
    const topic = TOPICS.messagesRequested.name;
    const value = await this.codec.encode(topic, request);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new HttpException(
              {
                error: 'unavailable',
                message: `Kafka did not acknowledge within ${SEND_DEADLINE_MS} ms; retry`,
              },
              HttpStatus.SERVICE_UNAVAILABLE,
            ),
          ),
        SEND_DEADLINE_MS,
      );
    });
    const send = this.producer.send({
      topic,
      acks: -1,
      messages: [{ key: request.messageId, value }],
    });
    await Promise.race([send, deadline]).finally(() => clearTimeout(timer));
  }
}
