import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import type { MessageRequested } from '@herald/messages';
import type { AvroCodec } from '@herald/schema-registry';
import { TOPICS } from '@herald/topics';
import { withTraceHeaders } from '@herald/tracing';

/** How long a caller waits for Kafka before giving up (the producer itself retries forever). */
export const SEND_DEADLINE_MS = 10_000;

/** Kafka did not acknowledge a request within SEND_DEADLINE_MS; the caller may retry it. */
export class PublishDeadlineError extends Error {
  constructor() {
    super(`Kafka did not acknowledge within ${SEND_DEADLINE_MS} ms; retry`);
  }
}

/**
 * Puts requests on herald.messages.requested as Avro, keyed by messageId, acknowledged by every
 * in-sync replica: what ingest's POST /v1/messages does, and what any other program may do.
 */
export class RequestPublisher {
  private readonly producer: Producer;

  constructor(
    kafka: Kafka,
    private readonly codec: AvroCodec,
  ) {
    this.producer = kafka.producer({
      idempotent: true,
      // Idempotence needs unbounded retries; publish() bounds the caller's wait instead.
      retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 5_000 },
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  /** Resolves once Kafka holds the request; rejects with PublishDeadlineError after the deadline. */
  async publish(request: MessageRequested): Promise<void> {
    const topic = TOPICS.messagesRequested.name;
    const value = await this.codec.encode(topic, request);
    await withinSendDeadline(
      this.producer.send({
        topic,
        acks: -1,
        // The caller's trace, when tracing is on (nothing otherwise).
        messages: [{ key: request.messageId, value, headers: withTraceHeaders(undefined) }],
      }),
    );
  }
}

/**
 * Waits for a write Kafka retries on its own for at most SEND_DEADLINE_MS, then rejects with
 * PublishDeadlineError: an API caller gets an answer in bounded time either way.
 */
export async function withinSendDeadline<T>(write: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PublishDeadlineError()), SEND_DEADLINE_MS);
  });
  return Promise.race([write, deadline]).finally(() => clearTimeout(timer));
}
