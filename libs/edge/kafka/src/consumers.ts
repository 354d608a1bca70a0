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
import { watchForStop } from './stopped-consumers';
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

/** Bound on a fetch's long poll, and so on the lateness a paused partition adds. */
const FETCH_WAIT_MS = 50;

/** kafkajs heartbeats only between batches; long work must heartbeat by itself. */
const HEARTBEAT_EVERY_MS = 3_000;

/** One transactional producer per group and instance: a restarted instance fences its predecessor. */
function committerFor({ kafka, groupId, instanceId }: ConsumerSettings): TransactionalCommitter {
  return new TransactionalCommitter(kafka, groupId, `${groupId}.${instanceId}`);
}

/** Runs `work`, heartbeating meanwhile: kafkajs heartbeats by itself only between batches. */
async function withHeartbeat<T>(
  heartbeat: () => Promise<void>,
  work: () => Promise<T>,
): Promise<T> {
  const beat = setInterval(() => void heartbeat().catch(() => undefined), HEARTBEAT_EVERY_MS);
  try {
    return await work();
  } finally {
    clearInterval(beat);
  }
}

function nextOffset(offset: string): string {
  return (BigInt(offset) + 1n).toString();
}

/** Resume timers of paused partitions, cleared when the consumer stops. */
type Holds = Set<NodeJS.Timeout>;

/**
 * Pauses this batch's partition until `at`. kafkajs fetches from a broker again only once every
 * batch of the previous fetch has returned, so waiting inside a batch would hold up every
 * partition; a paused partition holds up nobody, and is fetched again from its first
 * unresolved record when it resumes.
 */
function holdUntil(pause: () => () => void, at: number, holds: Holds): void {
  const resume = pause();
  const timer = setTimeout(
    () => {
      holds.delete(timer);
      resume();
    },
    Math.max(0, at - Date.now()),
  );
  holds.add(timer);
}

async function start(
  settings: ConsumerSettings,
  eachBatch: (
    payload: EachBatchPayload,
    committer: TransactionalCommitter,
    holds: Holds,
  ) => Promise<void>,
  hooks: { onJoin?: () => void; committer?: TransactionalCommitter } = {},
): Promise<RunningConsumer> {
  const { kafka, groupId, topics } = settings;
  const committer = hooks.committer ?? committerFor(settings);
  const holds: Holds = new Set();
  const consumer: Consumer = kafka.consumer({
    groupId,
    sessionTimeout: settings.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: HEARTBEAT_EVERY_MS,
    // Only committed transactions: an aborted attempt's outputs are never seen downstream.
    readUncommitted: false,
    // A resumed partition joins the next fetch, so the long poll bounds how late a held record
    // starts: kafkajs's default would make it up to 5 s.
    maxWaitTimeInMs: FETCH_WAIT_MS,
  });
  if (hooks.onJoin) consumer.on(consumer.events.GROUP_JOIN, hooks.onJoin);
  watchForStop(consumer, groupId);
  await committer.connect();
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({
    autoCommit: false, // offsets are committed inside the output transaction
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: settings.partitionsConsumedConcurrently,
    eachBatch: (payload) => eachBatch(payload, committer, holds),
  });
  return {
    async stop() {
      for (const timer of holds) clearTimeout(timer);
      await consumer.disconnect();
      await committer.disconnect();
    },
  };
}

/**
 * Each batch's outputs and its offset are committed in one transaction. A handler that throws
 * fails the batch, which kafkajs retries from the last committed offset: handlers turn
 * expected failures (bad input, provider errors) into outputs and throw only for transient
 * pipeline trouble. `handleBatch` gets the whole batch, for work whose records depend on each
 * other (the projector folds one message's events in order).
 */
export function runBatchConsumer(
  settings: ConsumerSettings & {
    handleBatch: (messages: KafkaMessage[], topic: string, partition: number) => Promise<Output[]>;
    /** When a record may be handled; its partition waits (paused) until then. */
    notBefore?: (message: KafkaMessage) => number;
  },
): Promise<RunningConsumer> {
  const { notBefore } = settings;
  return start(
    settings,
    async ({ batch, heartbeat, isRunning, isStale, resolveOffset, pause }, committer, holds) => {
      let messages = batch.messages;
      const now = Date.now();
      const firstNotDue = notBefore ? messages.findIndex((m) => notBefore(m) > now) : -1;
      if (notBefore && firstNotDue >= 0) {
        holdUntil(pause, notBefore(messages[firstNotDue]!), holds);
        messages = messages.slice(0, firstNotDue);
      }
      if (messages.length === 0) return;
      await withHeartbeat(heartbeat, async () => {
        const outputs = await settings.handleBatch(messages, batch.topic, batch.partition);
        if (!isRunning() || isStale()) return;
        const last = messages[messages.length - 1]!.offset;
        await committer.commit(outputs, {
          topic: batch.topic,
          partition: batch.partition,
          offset: nextOffset(last),
        });
        resolveOffset(last);
      });
    },
  );
}

/**
 * For a consumer that writes behind: each batch is handed to `accept` (which may wait while its
 * buffer is full) and the consumer moves on at once; the caller commits offsets through
 * `committer` once what they cover is written. After a rebalance (`onJoin`) the group starts
 * again from the committed offsets, so the caller drops whatever it had not committed.
 */
export async function runWriteBehindConsumer(
  settings: ConsumerSettings & {
    accept: (messages: KafkaMessage[], topic: string, partition: number) => Promise<void>;
    onJoin: () => void;
  },
): Promise<{ consumer: RunningConsumer; committer: TransactionalCommitter }> {
  const committer = committerFor(settings);
  const consumer = await start(
    settings,
    async ({ batch, heartbeat, resolveOffset }) => {
      if (batch.messages.length === 0) return;
      await withHeartbeat(heartbeat, () =>
        settings.accept(batch.messages, batch.topic, batch.partition),
      );
      resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
    },
    { onJoin: settings.onJoin, committer },
  );
  return { consumer, committer };
}

/**
 * Work topics whose records are independent: every record of a batch is handled concurrently,
 * bounded by `maxInFlight` across all partitions, so a slow provider does not serialise a
 * partition.
 */
export function runWorkConsumer(
  settings: ConsumerSettings & {
    maxInFlight: number;
    handle: (message: KafkaMessage, topic: string, partition: number) => Promise<Output[]>;
    notBefore?: (message: KafkaMessage) => number;
  },
): Promise<RunningConsumer> {
  const limit = pLimit(settings.maxInFlight);
  return runBatchConsumer({
    ...settings,
    handleBatch: async (messages, topic, partition) =>
      (
        await Promise.all(
          messages.map((message) => limit(() => settings.handle(message, topic, partition))),
        )
      ).flat(),
  });
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

  return start(settings, async ({ batch, resolveOffset, pause }, committer, holds) => {
    const tier = tierOf.get(batch.topic);
    if (!tier) throw new Error(`${batch.topic} is not a delay tier of ${settings.workTopic}`);
    // Release times only grow within a partition: pass on the released prefix, then wait for
    // the head of the rest without holding up any other partition.
    const now = Date.now();
    const waiting = batch.messages.findIndex((message) => releaseTime(message, tier) > now);
    const released = waiting < 0 ? batch.messages : batch.messages.slice(0, waiting);
    if (released.length > 0) {
      const last = released[released.length - 1]!.offset;
      await committer.commit(released.map(route), {
        topic: batch.topic,
        partition: batch.partition,
        offset: nextOffset(last),
      });
      resolveOffset(last);
    }
    if (waiting >= 0) holdUntil(pause, releaseTime(batch.messages[waiting]!, tier), holds);
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
