import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
import { createKafka, ensureTopics } from '@herald/kafka';
import { AvroCodec, registryAuthHeaders, resolveSchemaDir } from '@herald/schema-registry';
import { ALL_TOPICS, TOPICS, valueSubject } from '@herald/topics';
import { testEnv } from '../support/servers';
import { waitFor } from '@tools/harness';

describe('MessageRequested through the real broker and schema registry', () => {
  const env = testEnv();
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  let consumer: Consumer;
  let codec: AvroCodec;

  beforeAll(async () => {
    kafka = createKafka({
      brokers: env.kafkaBrokers,
      clientId: 'herald-test',
      ...env.kafkaSecurity,
    });
    admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, ALL_TOPICS);
    codec = AvroCodec.connect(env.schemaRegistryUrl, resolveSchemaDir(), env.registryAuth);
    await codec.register(ALL_TOPICS);
    producer = kafka.producer({ idempotent: true });
    await producer.connect();
  });

  afterAll(async () => {
    await consumer?.disconnect();
    await producer?.disconnect();
    await admin?.disconnect();
  });

  it('creates the contract topics, keeping message events forever', async () => {
    const topics = await admin.listTopics();
    for (const topic of ALL_TOPICS) expect(topics).toContain(topic.name);
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 2, name: TOPICS.messageEvents.name, configNames: ['retention.ms'] }],
    });
    const retention = described.resources[0]?.configEntries.find(
      (e) => e.configName === 'retention.ms',
    );
    expect(retention?.configValue).toBe('-1');
  });

  it('ensures topics idempotently', async () => {
    await expect(ensureTopics(admin, ALL_TOPICS)).resolves.toBeUndefined();
  });

  it('registers the schemas under <topic>-value with BACKWARD compatibility', async () => {
    for (const topic of ALL_TOPICS.filter((t) => t.valueSchema)) {
      const subject = valueSubject(topic.name);
      expect(await codec.registry.getLatestSchemaId(subject)).toBe(codec.schemaIdFor(topic.name));
      const config = await fetch(`${env.schemaRegistryUrl}/config/${subject}`, {
        headers: registryAuthHeaders(env.registryAuth),
      });
      expect(config.status).toBe(200);
      expect(((await config.json()) as { compatibilityLevel: string }).compatibilityLevel).toBe(
        'BACKWARD',
      );
    }
  });

  it('produces and consumes a MessageRequested in the Confluent wire format', async () => {
    const topic = TOPICS.messagesRequested.name;
    const messageId = `test-${randomUUID()}`;
    const request = {
      messageId,
      tenantId: 'tenant-a',
      channel: 'webhook',
      provider: 'webhook',
      providers: [],
      recipient: 'http://127.0.0.1:4010/hooks/ok',
      content: { body: 'hello' },
      retryPolicy: null,
      metadata: { source: 'integration-test' },
      requestedAt: Date.now(),
    };
    const bytes = await codec.encode(topic, request);
    const [written] = await producer.send({
      topic,
      acks: -1,
      messages: [{ key: messageId, value: bytes }],
    });
    expect(written?.errorCode).toBe(0);

    const received: { key: string; value: Buffer }[] = [];
    consumer = kafka.consumer({ groupId: `herald-test-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (message.key?.toString() === messageId && message.value) {
          received.push({ key: messageId, value: message.value });
        }
      },
    });
    const raw = await waitFor('the produced record to be consumed', () => received[0]?.value);

    expect(raw[0]).toBe(0); // Confluent magic byte
    expect(raw.readInt32BE(1)).toBe(codec.schemaIdFor(topic));
    expect(raw.readInt32BE(1)).toBe(await codec.registry.getLatestSchemaId(valueSubject(topic)));
    expect(await codec.decode(raw)).toEqual(request);
  });
});
