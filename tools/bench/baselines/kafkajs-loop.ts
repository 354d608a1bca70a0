/**
 * Baseline "the ceiling of this stack": the least a Kafka consumer can do to turn records into
 * provider calls, on the same client libraries and concurrency settings as Herald's sender
 * (kafkajs eachBatch, partitionsConsumedConcurrently = partitions, p-limit bounding in-flight
 * HTTP calls across partitions, undici keep-alive Agent, outputs produced before the batch's
 * offset is committed, at-least-once).
 *
 * What it leaves out, on purpose: transactions (plain acks=all produce, then commitOffsets),
 * the schema registry and Avro (JSON records), MongoDB, retries and delay tiers (a failed call
 * is just recorded in its output record), error classification, redaction, rendering and
 * everything else Herald does per message. The gap between this and Herald is what those cost.
 *
 * Everything runs in the caller's process: the load generator, the "service" loop and the
 * counter that reads the results back from the output topic. Timing starts right before the
 * first record is produced (the loop's consumer has already joined its group) and stops when
 * the counter has seen a result for every input record.
 */
import { performance } from 'node:perf_hooks';
import { CpuWindow, type CpuUsage } from '../cpu-usage';
import pLimit from 'p-limit';
import { Agent, request } from 'undici';
import { Partitioners, type Consumer, type EachBatchPayload, type Message } from 'kafkajs';
import { kafkaSettingsFromEnv } from '@herald/config';
import { createKafka } from '@herald/kafka';

export interface KafkajsBaselineOptions {
  brokers: string[];
  /** The provider URL record i is POSTed to. */
  targetUrl: (i: number) => string;
  messages: number;
  /** In-flight HTTP calls across all partitions (Herald: HERALD_MAX_IN_FLIGHT, 512). */
  concurrency: number;
  /** Partitions of both topics, and partitionsConsumedConcurrently (Herald: 12). */
  partitions: number;
  /** Names the topics and groups: bench.baseline.<runId>.in / .out. */
  runId: string;
  /** Gives up (and cleans up) after this long; default 10 minutes. */
  timeoutMs?: number;
  /** Per-call bound on the HTTP exchange; default 30 s. */
  httpTimeoutMs?: number;
}

export interface BaselineResult {
  messages: number;
  seconds: number;
  perSecond: number;
  /** CPU each process spent in the timed window. */
  cpu?: CpuUsage;
}

/** Same long-poll bound and heartbeat cadence as Herald's consumers (libs/edge/kafka). */
const FETCH_WAIT_MS = 50;
const HEARTBEAT_EVERY_MS = 3_000;
/** Records per produce request of the load generator. */
const PRODUCE_CHUNK = 1_000;

interface InputRecord {
  i: number;
  body: { to: string; text: string };
}

interface OutputRecord {
  i: number;
  status: number;
  ms: number;
}

export async function runKafkajsBaseline(opts: KafkajsBaselineOptions): Promise<BaselineResult> {
  const { messages, partitions, runId } = opts;
  if (!Number.isInteger(messages) || messages <= 0) throw new Error('messages must be > 0');
  const inTopic = `bench.baseline.${runId}.in`;
  const outTopic = `bench.baseline.${runId}.out`;
  const loopGroup = `bench.baseline.${runId}.loop`;
  const countGroup = `bench.baseline.${runId}.count`;
  const httpTimeoutMs = opts.httpTimeoutMs ?? 30_000;

  // Herald's client settings (log level, connection timeout, retries, SASL/TLS from the env).
  const clientId = `bench-baseline-${runId}`;
  const { sasl, ssl } = kafkaSettingsFromEnv(process.env, clientId);
  const kafka = createKafka({ clientId, brokers: opts.brokers, sasl, ssl });
  const admin = kafka.admin();
  // Like libs/providers/src/http-call.ts, with as many connections as calls in flight.
  const agent = new Agent({
    keepAliveTimeout: 30_000,
    connections: opts.concurrency,
    pipelining: 1,
  });
  const loadProducer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  const loopProducer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  const loop = kafka.consumer({
    groupId: loopGroup,
    sessionTimeout: 30_000,
    heartbeatInterval: HEARTBEAT_EVERY_MS,
    maxWaitTimeInMs: FETCH_WAIT_MS,
  });
  const counter = kafka.consumer({ groupId: countGroup, maxWaitTimeInMs: FETCH_WAIT_MS });
  const limit = pLimit(opts.concurrency);

  // Distinct inputs with a result on .out: redelivery after a rebalance may write one twice.
  const seen = new Uint8Array(messages);
  let done = 0;
  let finishedAt = 0;
  let finish: () => void = () => undefined;
  let fail: (error: Error) => void = () => undefined;
  const finished = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  finished.catch(() => undefined); // awaited below; this only keeps an early failure handled

  const callProvider = async (value: Buffer | null): Promise<Message> => {
    const record = JSON.parse(value?.toString() ?? '{}') as InputRecord;
    const started = performance.now();
    const response = await request(opts.targetUrl(record.i), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(record.body),
      dispatcher: agent,
      signal: AbortSignal.timeout(httpTimeoutMs),
      headersTimeout: httpTimeoutMs,
      bodyTimeout: httpTimeoutMs,
    });
    await response.body.text();
    const output: OutputRecord = {
      i: record.i,
      status: response.statusCode,
      ms: Math.round(performance.now() - started),
    };
    return { key: String(record.i), value: JSON.stringify(output) };
  };

  const handleBatch = async ({
    batch,
    heartbeat,
    isRunning,
    isStale,
    resolveOffset,
  }: EachBatchPayload) => {
    if (batch.messages.length === 0) return;
    const beat = setInterval(() => void heartbeat().catch(() => undefined), HEARTBEAT_EVERY_MS);
    try {
      // A transport error rejects the batch, which kafkajs retries from the committed offset.
      const outputs = await Promise.all(
        batch.messages.map((message) => limit(() => callProvider(message.value))),
      );
      if (!isRunning() || isStale()) return;
      await loopProducer.send({ topic: outTopic, messages: outputs });
      const last = batch.messages[batch.messages.length - 1]!.offset;
      const next = (BigInt(last) + 1n).toString();
      await loop.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
      resolveOffset(last);
    } finally {
      clearInterval(beat);
    }
  };

  const countBatch = async ({ batch }: EachBatchPayload) => {
    for (const message of batch.messages) {
      const { i } = JSON.parse(message.value?.toString() ?? '{}') as OutputRecord;
      if (Number.isInteger(i) && i >= 0 && i < messages && seen[i] === 0) {
        seen[i] = 1;
        done += 1;
      }
    }
    if (done === messages && finishedAt === 0) {
      finishedAt = performance.now();
      finish();
    }
  };

  const joined = (consumer: Consumer) =>
    new Promise<void>((resolve) => {
      const off = consumer.on(consumer.events.GROUP_JOIN, () => {
        off();
        resolve();
      });
    });

  let timer: NodeJS.Timeout | undefined;
  try {
    await admin.connect();
    await admin.createTopics({
      topics: [inTopic, outTopic].map((topic) => ({
        topic,
        numPartitions: partitions,
        replicationFactor: -1,
      })),
      waitForLeaders: true,
    });
    await Promise.all([loadProducer.connect(), loopProducer.connect()]);
    await Promise.all([loop.connect(), counter.connect()]);
    await loop.subscribe({ topics: [inTopic], fromBeginning: true });
    await counter.subscribe({ topics: [outTopic], fromBeginning: true });
    for (const consumer of [loop, counter]) {
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (!payload.restart)
          fail(new Error(`kafkajs baseline: consumer crashed: ${payload.error}`));
      });
    }
    const loopJoined = joined(loop);
    const counterJoined = joined(counter);
    await loop.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: partitions,
      eachBatch: handleBatch,
    });
    await counter.run({ partitionsConsumedConcurrently: partitions, eachBatch: countBatch });
    await Promise.all([loopJoined, counterJoined]);

    const timeoutMs = opts.timeoutMs ?? 600_000;
    timer = setTimeout(
      () => fail(new Error(`kafkajs baseline: ${done}/${messages} results after ${timeoutMs} ms`)),
      timeoutMs,
    );
    const cpu = new CpuWindow();
    cpu.begin();
    const startedAt = performance.now();
    for (let from = 0; from < messages; from += PRODUCE_CHUNK) {
      const chunk: Message[] = [];
      for (let i = from; i < Math.min(messages, from + PRODUCE_CHUNK); i++) {
        const record: InputRecord = { i, body: { to: `user-${i}`, text: `bench message ${i}` } };
        chunk.push({ key: String(i), value: JSON.stringify(record) });
      }
      await loadProducer.send({ topic: inTopic, messages: chunk });
    }
    await finished;
    const seconds = (finishedAt - startedAt) / 1000;
    return { messages, seconds, perSecond: messages / seconds, cpu: cpu.end() };
  } finally {
    clearTimeout(timer);
    const quietly = (work: Promise<unknown>) => work.catch(() => undefined);
    await Promise.all([quietly(loop.disconnect()), quietly(counter.disconnect())]);
    await Promise.all([quietly(loadProducer.disconnect()), quietly(loopProducer.disconnect())]);
    await quietly(admin.deleteGroups([loopGroup, countGroup]));
    await quietly(admin.deleteTopics({ topics: [inTopic, outTopic] }));
    await quietly(admin.disconnect());
    await quietly(agent.close());
  }
}
