import type { KafkaMessage } from 'kafkajs';
import type { MessageEvent } from '@herald/messages';
import type { PendingRecord } from '@herald/read-model';
import type { AvroCodec } from '@herald/schema-registry';
import { decodeOrDeadLetter, type Output } from '@herald/kafka';

/**
 * Decodes a batch of events, each with its offset and append time (its Kafka timestamp);
 * undecodable records become dead letters instead of stalling.
 */
export async function decodeRecords(
  codec: AvroCodec,
  messages: KafkaMessage[],
  source: { topic: string; partition: number },
  logger: { warn(message: string): void },
): Promise<PendingRecord<Output>[]> {
  const records: PendingRecord<Output>[] = [];
  for (const message of messages) {
    const decoded = await decodeOrDeadLetter<MessageEvent>(
      codec,
      message,
      { ...source, service: 'projector' },
      logger,
    );
    records.push(
      decoded.ok
        ? { offset: message.offset, event: decoded.value, appendedAt: Number(message.timestamp) }
        : { offset: message.offset, deadLetter: decoded.deadLetter },
    );
  }
  return records;
}
