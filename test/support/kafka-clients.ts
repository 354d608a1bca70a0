import type { Kafka, Producer } from 'kafkajs';
import { createKafka, readToEnd } from '@herald/kafka';
import { AvroCodec, resolveSchemaDir } from '@herald/schema-registry';
import { TOPICS, type TopicSpec } from '@herald/topics';
import { waitFor } from '@tools/harness';
import { testEnv } from './servers';

/** A test's own Kafka client, producer and codec, for records it writes straight to a topic. */
export interface TestClients {
  kafka: Kafka;
  producer: Producer;
  codec: AvroCodec;
  close(): Promise<void>;
}

/**
 * Connects them as the services connect (SASL/TLS and registry credentials from the env), with
 * the schemas of `topics` registered so the codec can encode for them.
 */
export async function connectTestClients(
  clientId: string,
  topics: readonly TopicSpec[],
): Promise<TestClients> {
  const env = testEnv();
  const kafka = createKafka({ brokers: env.kafkaBrokers, clientId, ...env.kafkaSecurity });
  const producer = kafka.producer();
  await producer.connect();
  const codec = AvroCodec.connect(env.schemaRegistryUrl, resolveSchemaDir(), env.registryAuth);
  await codec.register([...topics]);
  return { kafka, producer, codec, close: () => producer.disconnect() };
}

/** Waits until herald.dead-letter holds records keyed `key`, and gives each one's headers as text. */
export function deadLettersKeyed(
  kafka: Kafka,
  key: string,
  { timeoutMs = 30_000, intervalMs = 500 } = {},
): Promise<Record<string, string>[]> {
  return waitFor(
    `a record keyed ${JSON.stringify(key)} in the dead-letter topic`,
    async () => {
      const found: Record<string, string>[] = [];
      await readToEnd(kafka, TOPICS.deadLetter.name, async (messages) => {
        for (const message of messages) {
          if (message.key?.toString() !== key) continue;
          const headers = Object.entries(message.headers ?? {});
          found.push(Object.fromEntries(headers.map(([name, value]) => [name, String(value)])));
        }
      });
      return found.length > 0 ? found : undefined;
    },
    { timeoutMs, intervalMs },
  );
}
