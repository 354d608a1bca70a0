import type { Kafka } from 'kafkajs';
import { readToEnd } from '@herald/kafka';

/** Every value on a topic, concatenated: for searching the raw bytes (e.g. for secrets). */
export async function readWholeTopic(kafka: Kafka, topic: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await readToEnd(kafka, topic, async (messages) => {
    for (const message of messages) if (message.value) chunks.push(message.value);
  });
  return Buffer.concat(chunks);
}

/** The raw values on a topic whose key is `key`, in partition order. */
export async function valuesWithKey(kafka: Kafka, topic: string, key: string): Promise<Buffer[]> {
  const found: Buffer[] = [];
  await readToEnd(kafka, topic, async (messages) => {
    for (const message of messages) {
      if (message.key?.toString() === key && message.value) found.push(message.value);
    }
  });
  return found;
}
