import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
import {
  createKafka,
  fetchWaitMs,
  runDelayTierConsumer,
  stoppedConsumers,
  type RunningConsumer,
} from '@herald/kafka';
import {
  DUE_AT_HEADER,
  encodeDueAt,
  tierTopic,
  DELAY_TIERS,
  WORK_WINDOW_MS,
} from '@herald/delay-tiers';
import { waitFor } from '@tools/harness';
import { testEnv } from '../support/servers';

// A stage's delay tiers, run as they are in a service (a consumer per tier, one group, one
// transactional producer) on a work topic of their own, while instances come and go.
describe('delay-tier consumers against the real broker', () => {
  const env = testEnv();
  const run = randomUUID().slice(0, 8);
  const workTopic = `herald-test.tiers-${run}`;
  const groupId = `herald-test-tiers-${run}-delays`;
  const tiers = DELAY_TIERS;
  const SESSION_TIMEOUT_MS = 6_000;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  let reader: Consumer;
  /** Due time of each record that reached the work topic, by key, and when it got there. */
  const arrived = new Map<string, { dueAt: number; at: number }>();
  const running: RunningConsumer[] = [];

  const startInstance = async (instanceId: string): Promise<RunningConsumer> => {
    const consumer = await runDelayTierConsumer({
      kafka,
      groupId,
      topics: [],
      instanceId,
      partitionsConsumedConcurrently: 2,
      // The broker's least: fetches long-poll a third of it (fetchWaitMs), 2 s.
      sessionTimeoutMs: SESSION_TIMEOUT_MS,
      shutdownGraceMs: 5_000,
      workTopic,
      tiers,
    });
    running.push(consumer);
    return consumer;
  };

  const stopInstance = async (consumer: RunningConsumer): Promise<void> => {
    running.splice(running.indexOf(consumer), 1);
    await consumer.stop();
  };

  /** Writes records into a tier (by default 1 s), due `inMs` from now; their keys. */
  const schedule = async (
    label: string,
    count: number,
    inMs: number,
    tier = tiers.find(({ holdMs }) => holdMs === 1_000)!,
  ): Promise<string[]> => {
    const keys = Array.from({ length: count }, (_, i) => `${label}-${i}`);
    const dueAt = Date.now() + inMs;
    await producer.send({
      topic: tierTopic(workTopic, tier),
      messages: keys.map((key) => ({
        key,
        value: key,
        headers: { [DUE_AT_HEADER]: encodeDueAt(dueAt) },
      })),
    });
    return keys;
  };

  beforeAll(async () => {
    kafka = createKafka({
      brokers: env.kafkaBrokers,
      clientId: 'herald-test-tiers',
      ...env.kafkaSecurity,
    });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [workTopic, ...tiers.map((tier) => tierTopic(workTopic, tier))].map((topic) => ({
        topic,
        numPartitions: 12,
      })),
    });
    producer = kafka.producer();
    await producer.connect();
    reader = kafka.consumer({ groupId: `herald-test-tiers-${run}-reader`, maxWaitTimeInMs: 100 });
    await reader.connect();
    await reader.subscribe({ topics: [workTopic], fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        const dueAt = Number(message.headers?.[DUE_AT_HEADER]?.toString());
        arrived.set(message.key!.toString(), { dueAt, at: Date.now() });
      },
    });
  });

  afterAll(async () => {
    await Promise.allSettled(running.map((consumer) => consumer.stop()));
    await reader?.disconnect();
    await producer?.disconnect();
    await admin?.deleteTopics({
      topics: [workTopic, ...tiers.map((tier) => tierTopic(workTopic, tier))],
    });
    await admin?.disconnect();
  });

  it('keeps every tier consuming while instances join and leave, and releases nothing early', async () => {
    const arrivedAll = (keys: string[]) =>
      waitFor(
        `${keys.length} records to reach the work topic`,
        () => keys.every((key) => arrived.has(key)) || undefined,
        { timeoutMs: 60_000 },
      );
    const first = await startInstance('a');
    const before = await schedule('before', 20, 1_500);
    await arrivedAll(before);
    // Records keep coming while a second instance joins, the first leaves and a third joins, so
    // every tier consumer keeps fetching through each rebalance. Each join clears the group's
    // committed offsets kept by kafkajs: when the tier consumers of a process shared them, the
    // others' next fetch failed, and they stopped for good.
    const streamed: string[] = [];
    let streaming = true;
    const stream = (async () => {
      for (let round = 0; streaming; round += 1) {
        streamed.push(...(await schedule(`stream${round}`, 5, 1_200 + (round % 3) * 400)));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    // The first leaves while the second is still joining.
    const second = startInstance('b');
    await waitFor('the stream to start', () => (streamed.length > 0 ? true : undefined));
    await stopInstance(first);
    await second;
    await startInstance('c');
    streaming = false;
    await stream;
    // Then a while at rest, so that every tier consumer fetches again after the last rebalance
    // without having committed anything since: where kafkajs had cleared its topic's offsets,
    // that fetch is the one that failed. A record in every tier then shows each still consumes.
    await new Promise((resolve) => setTimeout(resolve, 2 * fetchWaitMs(SESSION_TIMEOUT_MS)));
    const everyTier: string[] = [];
    for (const tier of tiers)
      everyTier.push(...(await schedule(`tier${tier.label}`, 1, 1_500, tier)));
    const keys = [...before, ...streamed, ...everyTier];
    await arrivedAll(keys);
    expect(stoppedConsumers()).toEqual({});
    // Tiers pass a record on to the work topic only once it is due within WORK_WINDOW_MS (the
    // work topic's consumer waits out the rest), never earlier.
    const early = keys.filter((key) => {
      const { dueAt, at } = arrived.get(key)!;
      return at < dueAt - WORK_WINDOW_MS;
    });
    expect(early).toEqual([]);
  });
});
