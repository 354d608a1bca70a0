import pLimit from 'p-limit';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import {
  decodeDueAt,
  DUE_AT_HEADER,
  releaseAt,
  routeFor,
  tierTopic,
  type DelayTier,
} from '@herald/delay-tiers';
import { TransactionalCommitter, type Output } from './transactional-committer';

export interface ConsumerSettings {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  /** Distinguishes this instance's transactional producer from other instances'. */
  instanceId: string;
  partitionsConsumedConcurrently: number;
  sessionTimeoutMs?: number;
}

export interface RunningConsumer {
  stop(): Promise<void>;
}

/** kafkajs heartbeats only between batches; long work must heartbeat by itself. */
const HEARTBEAT_EVERY_MS = 3_000;

function nextOffset(offset: string): string {
  return (BigInt(offset) + 1n).toString();
}

async function start(
  settings: ConsumerSettings,
  eachBatch: (payload: EachBatchPayload, committer: TransactionalCommitter) => Promise<void>,
): Promise<RunningConsumer> {
  const { kafka, groupId, topics, instanceId } = settings;
  const committer = new TransactionalCommitter(kafka, groupId, `${groupId}.${instanceId}`);
  const consumer: Consumer = kafka.consumer({
    groupId,
    sessionTimeout: settings.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: HEARTBEAT_EVERY_MS,
    // Only committed transactions: an aborted attempt's outputs are never seen downstream.
    readUncommitted: false,
  });
  await committer.connect();
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({
    autoCommit: false, // offsets are committed inside the output transaction
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: settings.partitionsConsumedConcurrently,
    eachBatch: (payload) => eachBatch(payload, committer),
  });
  return {
    async stop() {
      await consumer.disconnect();
      await committer.disconnect();
    },
  };
}

/**
 * Work topics: every record of a batch is handled concurrently (bounded by `maxInFlight` across
 * all partitions, so a slow provider does not serialise a partition), then the batch's outputs
 * and its offset are committed in one transaction. A handler that throws fails the batch, which
 * kafkajs retries from the last committed offset: handlers turn expected failures (bad input,
 * provider errors) into outputs and throw only for transient pipeline trouble.
 */
export function runWorkConsumer(
  settings: ConsumerSettings & {
    maxInFlight: number;
    handle: (message: KafkaMessage, topic: string, partition: number) => Promise<Output[]>;
  },
): Promise<RunningConsumer> {
  const limit = pLimit(settings.maxInFlight);
  return start(
    settings,
    async ({ batch, heartbeat, isRunning, isStale, resolveOffset }, committer) => {
      if (batch.messages.length === 0) return;
      const beat = setInterval(() => void heartbeat().catch(() => undefined), HEARTBEAT_EVERY_MS);
      try {
        const outputs = await Promise.all(
          batch.messages.map((message) =>
            limit(() => settings.handle(message, batch.topic, batch.partition)),
          ),
        );
        if (!isRunning() || isStale()) return;
        await committer.commit(outputs.flat(), {
          topic: batch.topic,
          partition: batch.partition,
          offset: nextOffset(batch.lastOffset()),
        });
        resolveOffset(batch.lastOffset());
      } finally {
        clearInterval(beat);
      }
    },
  );
}

/**
 * Like runWorkConsumer, but the handler gets the whole batch, for work whose records depend on
 * each other (the projector folds one message's events in order).
 */
export function runBatchConsumer(
  settings: ConsumerSettings & {
    handleBatch: (messages: KafkaMessage[], topic: string, partition: number) => Promise<Output[]>;
  },
): Promise<RunningConsumer> {
  return start(
    settings,
    async ({ batch, heartbeat, isRunning, isStale, resolveOffset }, committer) => {
      if (batch.messages.length === 0) return;
      const beat = setInterval(() => void heartbeat().catch(() => undefined), HEARTBEAT_EVERY_MS);
      try {
        const outputs = await settings.handleBatch(batch.messages, batch.topic, batch.partition);
        if (!isRunning() || isStale()) return;
        await committer.commit(outputs, {
          topic: batch.topic,
          partition: batch.partition,
          offset: nextOffset(batch.lastOffset()),
        });
        resolveOffset(batch.lastOffset());
      } finally {
        clearInterval(beat);
      }
    },
  );
}

/**
 * Delay-tier topics: records leave in append order, each at its release time (see
 * @herald/delay-tiers), and hop to the next tier that fits or to the work topic. Bytes and
 * headers pass through untouched; only the due-time header is read.
 */
export function runDelayTierConsumer(
  settings: ConsumerSettings & { workTopic: string; tiers: readonly DelayTier[] },
): Promise<RunningConsumer> {
  const tierOf = new Map(settings.tiers.map((tier) => [tierTopic(settings.workTopic, tier), tier]));
  const route = (message: KafkaMessage): Output => {
    const dueAt = decodeDueAt(message.headers?.[DUE_AT_HEADER] as Buffer | undefined) ?? 0;
    const next = routeFor(dueAt, Date.now(), settings.tiers);
    return {
      topic: next === 'work' ? settings.workTopic : tierTopic(settings.workTopic, next),
      key: message.key?.toString() ?? '',
      value: message.value ?? Buffer.alloc(0),
      headers: message.headers,
    };
  };
  const releaseTime = (message: KafkaMessage, tier: DelayTier): number => {
    const dueAt = decodeDueAt(message.headers?.[DUE_AT_HEADER] as Buffer | undefined) ?? 0;
    return releaseAt(Number(message.timestamp), dueAt, tier);
  };

  return start(
    settings,
    async ({ batch, heartbeat, isRunning, isStale, resolveOffset }, committer) => {
      const tier = tierOf.get(batch.topic);
      if (!tier) throw new Error(`${batch.topic} is not a delay tier of ${settings.workTopic}`);
      const messages = batch.messages;
      let next = 0;
      while (next < messages.length) {
        if (!isRunning() || isStale()) return;
        const now = Date.now();
        const released: KafkaMessage[] = [];
        while (next < messages.length && releaseTime(messages[next]!, tier) <= now) {
          released.push(messages[next]!);
          next += 1;
        }
        if (released.length > 0) {
          const last = released[released.length - 1]!;
          await committer.commit(released.map(route), {
            topic: batch.topic,
            partition: batch.partition,
            offset: nextOffset(last.offset),
          });
          resolveOffset(last.offset);
          continue;
        }
        const wait = releaseTime(messages[next]!, tier) - now;
        await sleep(Math.min(wait, HEARTBEAT_EVERY_MS));
        await heartbeat();
      }
    },
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
