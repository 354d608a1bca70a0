import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import type { DeliveryTask } from '@herald/decisions';
import { messageKey, type MessageEvent } from '@herald/messages';
import { createMongoClient, ReadModelStore } from '@herald/mongo';
import { Projection } from '@herald/projection';
import { readToEnd } from '@herald/kafka';
import type { AvroCodec } from '@herald/schema-registry';
import { TOPICS } from '@herald/topics';
import { waitFor } from '@tools/harness';
import { Herald } from '../support/herald';
import { connectTestClients, deadLettersKeyed, type TestClients } from '../support/kafka-clients';
import { testEnv } from '../support/servers';

const run = randomUUID().slice(0, 8);

/**
 * A record whose handling throws after its provider call (issue 13, item 6) costs its own
 * message a bounded number of calls and an `internal` failure, and nothing else: its batch-mates'
 * provider calls are made once, and the partition goes on. A record the projector cannot write
 * (item 2) is dead-lettered, and the read model stays current.
 */
describe('fault isolation in the sender and the projector, against the real servers', () => {
  const env = testEnv();
  let herald: Herald;
  let kafka: Kafka;
  let producer: Producer;
  let codec: AvroCodec;
  let clients: TestClients | undefined;

  beforeAll(async () => {
    herald = await Herald.start({});
    clients = await connectTestClients('herald-test-faults', [
      TOPICS.deliveries,
      TOPICS.messageEvents,
    ]);
    ({ kafka, producer, codec } = clients);
  });

  afterAll(async () => {
    await clients?.close();
    await herald?.stop();
  });

  /** Every event herald.message-events holds for these messages, in order. */
  async function eventsOf(ids: readonly string[]): Promise<Map<string, MessageEvent[]>> {
    const wanted = new Set(ids);
    const found = new Map<string, MessageEvent[]>();
    await readToEnd(kafka, TOPICS.messageEvents.name, async (messages) => {
      for (const message of messages) {
        if (!wanted.has(message.key?.toString() ?? '')) continue;
        const event = await codec.decode<MessageEvent>(message.value!);
        found.set(event.messageId, [...(found.get(event.messageId) ?? []), event]);
      }
    });
    return found;
  }

  const task = (
    messageId: string,
    script: string,
    extra: Partial<DeliveryTask> = {},
  ): DeliveryTask => ({
    messageId,
    tenantId: herald.key.tenantId,
    channel: 'webhook',
    provider: 'webhook',
    providers: [],
    providerFirstAttempt: 1,
    providerFirstAttemptAt: null,
    recipient: herald.hook(script, messageId),
    content: { body: 'hi' },
    metadata: {},
    retryPolicy: 'webhook',
    requestedAt: Date.now(),
    attempt: 1,
    firstAttemptAt: null,
    nextSeq: 2,
    dueAt: Date.now(),
    ...extra,
  });

  it('calls the batch-mates of a record that throws after its call once, and records it internal', async () => {
    // A 503 schedules a retry whose seq (2^31) no Avro int holds: encoding it throws after the
    // provider call, every time. Before issue 13 this failed the whole batch for ever, and every
    // redo called every provider of the batch again.
    const poisoned = `poisoned-${run}`;
    const mates = Array.from({ length: 10 }, (_, i) => `mate-${run}-${i}`);
    const tasks = [
      task(poisoned, 'always-503', { nextSeq: 2 ** 31 - 1 }),
      ...mates.map((id) => task(id, 'ok')),
    ];
    const topic = TOPICS.deliveries.name;
    // One partition, one send: the records arrive in one batch.
    await producer.send({
      topic,
      messages: await Promise.all(
        tasks.map(async (t) => ({
          key: t.messageId,
          partition: 0,
          value: await codec.encode(topic, t),
        })),
      ),
    });

    const events = await waitFor(
      'every message of the batch to end',
      async () => {
        const found = await eventsOf([poisoned, ...mates]);
        const ended = [poisoned, ...mates].every((id) =>
          found.get(id)?.some((e) => e.type === 'sent' || e.type === 'undelivered'),
        );
        return ended ? found : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1_000 },
    );
    for (const id of mates) {
      expect(herald.received(id)).toHaveLength(1);
      expect(events.get(id)!.map((e) => e.type)).toEqual(['sent']);
    }
    // Tried three times (each a provider call), then given up on: an internal failure whose
    // retry cannot be written either, so the message ends undelivered, saying why.
    expect(herald.received(poisoned)).toHaveLength(3);
    const [ended] = events.get(poisoned)!;
    expect(ended).toMatchObject({ type: 'undelivered', seq: 2 ** 31 - 1 });
    expect(ended!.error).toMatchObject({ category: 'non_retryable', code: 'internal' });
    expect(ended!.error!.message).toMatch(/handling failed 3 times.*no retry could be recorded/);

    // The partition went on.
    const after = `after-${run}`;
    await herald.send(after, herald.hook('ok', after));
    expect((await herald.final(after)).message.status).toBe('sent');
  });
  it('dead-letters an event the read model refuses, and keeps projecting the others', async () => {
    // A projection of its own, into a database of its own, starting at the topic's end, so the
    // test can give that database a unique index (on recipient) that refuses a second message
    // to one recipient: a real refusal by the real server, which rereading cannot fix. FerretDB
    // does not say which index refused, so before issue 13 the store reread and retried it for
    // ever, and the projection stalled.
    const topic = TOPICS.messageEvents.name;
    const client = await createMongoClient(env.mongodbUri).connect();
    const db = client.db(`herald_faults_${run}`);
    const store = new ReadModelStore(db);
    await store.ensureIndexes();
    await db
      .collection('messages')
      .createIndex({ recipient: 1 }, { unique: true, name: 'one_per_recipient' });
    const groupId = `herald-projector-faults-${run}`;
    const admin = kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.setOffsets({
      groupId,
      topic,
      partitions: ends.map(({ partition, high }) => ({ partition, offset: high })),
    });
    const projection = new Projection(
      {
        instanceId: `faults-${run}`,
        sessionTimeoutMs: 10_000,
        partitionConcurrency: 4,
        projectorHoldMs: 0,
      },
      kafka,
      codec,
      store,
      groupId,
    );
    await projection.start();
    try {
      const queued = (messageId: string, recipient: string): MessageEvent => ({
        eventId: randomUUID(),
        messageId,
        tenantId: herald.key.tenantId,
        seq: 1,
        type: 'queued',
        status: 'queued',
        attempt: 0,
        maxAttempts: 3,
        occurredAt: Date.now(),
        nextAttemptAt: null,
        error: null,
        log: null,
        message: {
          channel: 'webhook',
          provider: 'webhook',
          providers: [],
          recipient,
          retryPolicy: 'webhook',
          requestedAt: Date.now(),
          metadata: {},
        },
        providerMessageId: null,
        provider: null,
        failover: null,
      });
      const publish = async (events: MessageEvent[]) =>
        producer.send({
          topic,
          messages: await Promise.all(
            events.map(async (event) => ({
              key: event.messageId,
              partition: 0,
              value: await codec.encode(topic, event),
            })),
          ),
        });
      const [first, refused, other, later] = ['first', 'refused', 'other', 'later'].map(
        (name) => `${name}-${run}`,
      );
      const shared = `http://127.0.0.1:9/shared-${run}`;
      await publish([
        queued(first!, shared),
        queued(refused!, shared),
        queued(other!, `${shared}/other`),
      ]);

      const letters = await deadLettersKeyed(kafka, refused!, {
        timeoutMs: 60_000,
        intervalMs: 1_000,
      });
      expect(letters).toEqual([
        expect.objectContaining({
          'herald-dlq-reason': expect.stringMatching(/^the read model refused it 3 times/),
          'herald-dlq-service': 'projector',
          'herald-dlq-source-topic': topic,
          'herald-dlq-source-partition': '0',
        }),
      ]);
      const key = (id: string) => messageKey(herald.key.tenantId, id);
      expect(await store.messages.findOne({ _id: key(first!) })).toMatchObject({
        status: 'queued',
      });
      expect(await store.messages.findOne({ _id: key(other!) })).toMatchObject({
        status: 'queued',
      });
      expect(await store.messages.findOne({ _id: key(refused!) })).toBeNull();

      // The projection went on past it.
      await publish([queued(later!, `${shared}/later`)]);
      await waitFor(
        'the next event projected',
        async () => (await store.messages.findOne({ _id: key(later!) })) ?? undefined,
        {
          timeoutMs: 30_000,
        },
      );
    } finally {
      await projection.stop();
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.disconnect();
      await db.dropDatabase();
      await client.close();
    }
  });
});
