import pLimit from 'p-limit';
import { forgetConsumerLag, recordConsumerLag } from '@herald/metrics';
import {
  contextFromHeaders,
  inSpan,
  recordHop,
  SpanKind,
  tracingOn,
  withTraceHeaders,
} from '@herald/tracing';
import type { HeraldConfig } from '@herald/config';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, PartitionAssigner } from 'kafkajs';
import {
  decodeDueAt,
  DUE_AT_HEADER,
  releaseAt,
  routeFor,
  tierTopic,
  type DelayTier,
} from '@herald/delay-tiers';
import { deadLetter } from './dead-letter';
import { errorMessage } from './error-message';
import { isTransientFault, MAX_RECORD_TRIES, Membership, REBALANCE_TIMEOUT_MS } from './faults';
import { oversizedOutput } from './record-size';
import { siblingKafka } from './kafka-client';
import { watchForStop } from './stopped-consumers';
import { tierAssigners } from './tier-assigner';
import { TransactionalCommitter, type Output } from './transactional-committer';

export interface ConsumerSettings {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  /** Distinguishes this instance's transactional producer from other instances'. */
  instanceId: string;
  partitionsConsumedConcurrently: number;
  sessionTimeoutMs?: number;
  /**
   * How long stop() lets the running batches finish and commit before it leaves anyway
   * (provider calls time out well within it).
   */
  shutdownGraceMs?: number;
}

/** What every service's consumers take from its configuration (HERALD_INSTANCE_ID and the rest). */
export function consumerSettingsFrom(
  config: Pick<
    HeraldConfig,
    'instanceId' | 'sessionTimeoutMs' | 'shutdownGraceMs' | 'partitionConcurrency'
  >,
): {
  instanceId: string;
  sessionTimeoutMs: number;
  shutdownGraceMs: number;
  partitionsConsumedConcurrently: number;
} {
  return {
    instanceId: config.instanceId,
    sessionTimeoutMs: config.sessionTimeoutMs,
    shutdownGraceMs: config.shutdownGraceMs,
    partitionsConsumedConcurrently: config.partitionConcurrency,
  };
}

/** Stops every consumer (each drains and commits what it finished); the time it took, in ms. */
export async function stopConsumers(consumers: readonly RunningConsumer[]): Promise<number> {
  const started = Date.now();
  await Promise.allSettled(consumers.map((consumer) => consumer.stop()));
  return Date.now() - started;
}

/** A Kubernetes pod gets 30 s between SIGTERM and SIGKILL by default: leave room to exit. */
const DEFAULT_SHUTDOWN_GRACE_MS = 20_000;

export interface RunningConsumer {
  stop(): Promise<void>;
}

/**
 * A fetch's long poll: how long the broker holds a fetch that finds no new record. It ends as
 * soon as a record arrives on any partition it asks for, so it costs no latency; it is what an
 * idle consumer spends (a fetch and, after it, a heartbeat per poll): at 10 s all services at
 * rest took 2.9% of a core, at kafkajs's 5 s 4.6% (a quick bench run each). kafkajs heartbeats only between polls, so the
 * poll is a third of the session timeout, as Kafka advises for the heartbeat interval; and it
 * is how late an idle member hears that its group is rebalancing (a batch waiting for a tier's
 * head record heartbeats every 3 s by itself), which the rest of the group waits out.
 */
export function fetchWaitMs(sessionTimeoutMs: number): number {
  return Math.min(10_000, Math.floor(sessionTimeoutMs / 3));
}

/** How often a batch waiting for its head record looks whether it should stop waiting. */
const WAIT_CHECK_EVERY_MS = 500;

/** kafkajs heartbeats only between batches; long work must heartbeat by itself. */
const HEARTBEAT_EVERY_MS = 3_000;

/** One transactional producer per group and instance: a restarted instance fences its predecessor. */
function committerFor({ kafka, groupId, instanceId }: ConsumerSettings): TransactionalCommitter {
  return new TransactionalCommitter(kafka, groupId, `${groupId}.${instanceId}`);
}

/**
 * Runs `work`, heartbeating meanwhile: kafkajs heartbeats by itself only between batches. What
 * a heartbeat's error says of the group (a rebalance, this member dropped) goes to `heard`.
 */
async function withHeartbeat<T>(
  heartbeat: () => Promise<void>,
  heard: (error: unknown) => void,
  work: () => Promise<T>,
): Promise<T> {
  const beat = setInterval(() => void heartbeat().catch(heard), HEARTBEAT_EVERY_MS);
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
 * unresolved record when it resumes (on time: while anything is paused, fetches wait only
 * briefly rather than long-polling; see fixKafkajsPausedPolls).
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
  hooks: {
    onJoin?: () => void;
    committer?: TransactionalCommitter;
    /** A committer shared by several consumers: connected and disconnected by its owner. */
    sharedCommitter?: boolean;
    partitionAssigners?: PartitionAssigner[];
  } = {},
): Promise<RunningConsumer> {
  const { kafka, groupId, topics } = settings;
  const committer = hooks.committer ?? committerFor(settings);
  const ownsCommitter = !hooks.sharedCommitter;
  const holds: Holds = new Set();
  const consumer: Consumer = kafka.consumer({
    groupId,
    sessionTimeout: settings.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: HEARTBEAT_EVERY_MS,
    // Only committed transactions: an aborted attempt's outputs are never seen downstream.
    readUncommitted: false,
    rebalanceTimeout: REBALANCE_TIMEOUT_MS,
    maxWaitTimeInMs: fetchWaitMs(settings.sessionTimeoutMs ?? 30_000),
    ...(hooks.partitionAssigners ? { partitionAssigners: hooks.partitionAssigners } : {}),
  });
  if (hooks.onJoin) consumer.on(consumer.events.GROUP_JOIN, hooks.onJoin);
  // Records behind each partition's end after every batch (0 once caught up). A rebalance
  // drops the group's series, so a partition that moved is not counted by two members.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) =>
    recordConsumerLag(groupId, payload.topic, payload.partition, Number(payload.offsetLag)),
  );
  consumer.on(consumer.events.GROUP_JOIN, () => forgetConsumerLag(groupId));
  watchForStop(consumer, groupId);
  if (ownsCommitter) await committer.connect();
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
      // kafkajs stops fetching, waits for the running batches (which start nothing new once
      // isRunning() is false, and commit what they finished), then leaves the group.
      for (const timer of holds) clearTimeout(timer);
      const grace = settings.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        consumer.disconnect(),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, grace))),
      ]);
      clearTimeout(timer);
      if (ownsCommitter) await committer.disconnect();
    },
  };
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
      // Writing behind, the projector commits later and idempotently: a rebalance costs it a
      // rewrite at most, so what the heartbeats hear is not needed.
      await withHeartbeat(
        heartbeat,
        () => undefined,
        () => settings.accept(batch.messages, batch.topic, batch.partition),
      );
      resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
    },
    { onJoin: settings.onJoin, committer },
  );
  return { consumer, committer };
}

/**
 * For a projection that writes each batch before taking the next: `handleBatch` writes it
 * (idempotently) and returns what to record with its offset (dead letters); then the offset
 * commits. A fault makes kafkajs redo the batch, which rewrites what was written: harmless.
 */
export function runBatchConsumer(
  settings: ConsumerSettings & {
    handleBatch: (messages: KafkaMessage[], topic: string, partition: number) => Promise<Output[]>;
  },
): Promise<RunningConsumer> {
  return start(settings, async ({ batch, heartbeat, resolveOffset, isStale }, committer) => {
    if (batch.messages.length === 0) return;
    const last = batch.messages[batch.messages.length - 1]!.offset;
    await withHeartbeat(
      heartbeat,
      () => undefined,
      async () => {
        const outputs = await settings.handleBatch(batch.messages, batch.topic, batch.partition);
        if (isStale()) return;
        await committer.commit(outputs, {
          topic: batch.topic,
          partition: batch.partition,
          offset: nextOffset(last),
        });
        resolveOffset(last);
      },
    );
  });
}

/** Where a record's handler stands within its batch. */
export interface WorkBatch {
  /**
   * False once the batch should start nothing new: the service is stopping, or the group is
   * rebalancing. A handler that has not yet called out returns null then.
   */
  mayStart(): boolean;
}

export interface WorkConsumerSettings extends ConsumerSettings {
  maxInFlight: number;
  /** Names the service in dead letters and logs. */
  service: string;
  logger: { warn(message: string): void };
  /**
   * Handles one record: what to write with its offset, or null when it was not handled (see
   * WorkBatch.mayStart) and is left for whoever consumes it next. Throws for a fault: see
   * runWorkConsumer.
   */
  handle: (
    message: KafkaMessage,
    topic: string,
    partition: number,
    batch: WorkBatch,
  ) => Promise<Output[] | null>;
  /**
   * What to write for a record given up on (its handling kept failing, or what it produced is
   * too large for Kafka): by default a dead letter with the reason. A giveUp that fails too
   * dead-letters the record.
   */
  giveUp?: (
    message: KafkaMessage,
    topic: string,
    partition: number,
    error: unknown,
  ) => Promise<Output[]>;
  /** When a record may be handled; its partition waits (paused) until then. */
  notBefore?: (message: KafkaMessage) => number;
}

/**
 * Work topics whose records are independent: every record of a batch is handled concurrently,
 * bounded by `maxInFlight` across all partitions, so a slow provider does not serialise a
 * partition; the outputs of the batch's finished prefix and its offset are committed in one
 * transaction.
 *
 * One record's fault never makes its batch-mates' provider calls happen twice. Every finished
 * record's outputs are kept until they are committed, so when a fault fails the batch and
 * kafkajs redoes it, the finished records are not handled again. A fault of the servers around
 * (isTransientFault) is retried for as long as it lasts; any other is retried MAX_RECORD_TRIES
 * times for that record, which is then given up on (giveUp) and the partition moves on.
 *
 * Stopping and rebalancing start nothing new and commit what finished. A batch whose heartbeat
 * says the group went on without this member commits nothing: the partition is someone else's.
 */
export function runWorkConsumer(settings: WorkConsumerSettings): Promise<RunningConsumer> {
  const limit = pLimit(settings.maxInFlight);
  const { notBefore } = settings;
  /** Outputs of records handled but not yet committed, by topic:partition:offset. */
  const finished = new Map<string, Output[]>();
  /** Lasting faults of records not yet committed. */
  const faults = new Map<string, number>();
  const forget = () => {
    finished.clear();
    faults.clear();
  };

  const giveUp = async (
    message: KafkaMessage,
    topic: string,
    partition: number,
    error: unknown,
  ): Promise<Output[]> => {
    const source = { topic, partition, service: settings.service };
    const why = errorMessage(error);
    settings.logger.warn(`giving up on ${topic}/${partition}@${message.offset}: ${why}`);
    try {
      const outputs = settings.giveUp
        ? await settings.giveUp(message, topic, partition, error)
        : [deadLetter(message, source, why)];
      const oversized = oversizedOutput(outputs);
      if (oversized) throw new Error(oversized);
      return outputs;
    } catch (failure) {
      if (isTransientFault(failure)) throw failure;
      return [
        deadLetter(message, source, `${why}; recording that failed too: ${errorMessage(failure)}`),
      ];
    }
  };

  return start(
    settings,
    async ({ batch, heartbeat, isRunning, isStale, resolveOffset, pause }, committer, holds) => {
      const { topic, partition } = batch;
      let messages = batch.messages;
      const now = Date.now();
      const firstNotDue = notBefore ? messages.findIndex((m) => notBefore(m) > now) : -1;
      if (notBefore && firstNotDue >= 0) {
        holdUntil(pause, notBefore(messages[firstNotDue]!), holds);
        messages = messages.slice(0, firstNotDue);
      }
      if (messages.length === 0) return;

      /** Keys `finished` and `faults`: a record is its topic, partition and offset. */
      const recordId = (message: KafkaMessage) => `${topic}:${partition}:${message.offset}`;
      const membership = new Membership();
      const work: WorkBatch = { mayStart: () => isRunning() && membership.mayStart() };
      const handleOnce = async (message: KafkaMessage): Promise<Output[] | null> => {
        const id = recordId(message);
        const done = finished.get(id);
        if (done) return done;
        if (!work.mayStart()) return null;
        let outputs: Output[] | null;
        try {
          const handle = () => settings.handle(message, topic, partition, work);
          outputs = tracingOn()
            ? await handleTraced(settings.service, message, topic, handle)
            : await handle();
          if (outputs === null) return null;
          const oversized = oversizedOutput(outputs);
          // Deterministic: no retry would make it fit.
          if (oversized) outputs = await giveUp(message, topic, partition, new Error(oversized));
        } catch (error) {
          if (isTransientFault(error)) throw error;
          const tries = (faults.get(id) ?? 0) + 1;
          faults.set(id, tries);
          if (tries < MAX_RECORD_TRIES) throw error;
          outputs = await giveUp(
            message,
            topic,
            partition,
            new Error(`its handling failed ${tries} times, last with: ${errorMessage(error)}`),
          );
        }
        finished.set(id, outputs);
        return outputs;
      };

      await withHeartbeat(
        heartbeat,
        (error) => membership.heard(error, Date.now()),
        async () => {
          const settled = await Promise.allSettled(
            messages.map((message) => limit(() => handleOnce(message))),
          );
          // Offsets commit in order: the finished prefix commits, the rest waits for a redo.
          let handled = 0;
          while (handled < settled.length) {
            const result = settled[handled]!;
            if (result.status === 'rejected' || result.value === null) break;
            handled += 1;
          }
          const fault = settled.find((result) => result.status === 'rejected')?.reason as unknown;
          // A last word from the group before committing, so a drop heard since is heeded.
          await heartbeat().catch((error: unknown) => membership.heard(error, Date.now()));
          if (handled > 0 && membership.mayCommit(Date.now()) && !isStale()) {
            const committed = messages.slice(0, handled);
            const last = committed[committed.length - 1]!.offset;
            await committer.commit(
              committed.flatMap((message) => finished.get(recordId(message))!),
              { topic, partition, offset: nextOffset(last) },
            );
            resolveOffset(last);
            for (const message of committed) {
              finished.delete(recordId(message));
              faults.delete(recordId(message));
            }
          }
          // A fault is retried by kafkajs redoing the batch, unless the batch is winding down.
          if (settled.some((r) => r.status === 'rejected') && work.mayStart()) throw fault;
        },
      );
    },
    { onJoin: forget },
  );
}

/**
 * A record's handling as a span in the trace the record carries (tracing on only); whatever it
 * writes carries that span on, so the next service's handling is its child.
 */
function handleTraced(
  service: string,
  message: KafkaMessage,
  topic: string,
  handle: () => Promise<Output[] | null>,
): Promise<Output[] | null> {
  return inSpan(
    `${service} ${topic}`,
    {
      kind: SpanKind.CONSUMER,
      parent: contextFromHeaders(message.headers),
      attributes: { 'messaging.destination.name': topic, 'messaging.kafka.offset': message.offset },
    },
    async () =>
      (await handle())?.map((output) => ({
        ...output,
        headers: withTraceHeaders(output.headers),
      })) ?? null,
  );
}

/**
 * Delay-tier topics: records leave in append order, each at its release time (see
 * @herald/delay-tiers), and hop to the next tier that fits or to the work topic. Bytes and
 * headers pass through untouched; only the due-time header is read.
 *
 * Each tier has a consumer of its own (all in one group, sharing one transactional producer;
 * see tier-assigner.ts), whose batch waits for its head record to be due and then passes it on.
 * Release times only grow within a tier (append + hold), so a record that arrives while a batch
 * waits is due after everything the batch holds, and waiting inside the batch holds up nobody:
 * no partition is paused, no fetch has to come round again for it, and an idle tier costs one
 * long poll every few seconds.
 */
export async function runDelayTierConsumer(
  settings: ConsumerSettings & { workTopic: string; tiers: readonly DelayTier[] },
): Promise<RunningConsumer> {
  const route = (message: KafkaMessage, from: DelayTier): Output => {
    const dueAt = decodeDueAt(message.headers?.[DUE_AT_HEADER] as Buffer | undefined) ?? 0;
    const next = routeFor(dueAt, Date.now(), settings.tiers);
    const topic = next === 'work' ? settings.workTopic : tierTopic(settings.workTopic, next);
    return {
      topic,
      key: message.key?.toString() ?? '',
      value: message.value ?? Buffer.alloc(0),
      // The record's wait in this tier, as a span of its trace (with tracing on).
      headers: recordHop(`delay ${from.label}`, message.headers, Number(message.timestamp), {
        'herald.delay.next': topic,
      }),
    };
  };
  const releaseTime = (message: KafkaMessage, tier: DelayTier): number => {
    const dueAt = decodeDueAt(message.headers?.[DUE_AT_HEADER] as Buffer | undefined) ?? 0;
    return releaseAt(Number(message.timestamp), dueAt, tier);
  };
  const topics = settings.tiers.map((tier) => tierTopic(settings.workTopic, tier));
  const committer = committerFor(settings);
  await committer.connect();

  const tierOf = new Map(settings.tiers.map((tier) => [tierTopic(settings.workTopic, tier), tier]));

  // A client per tier consumer but the first: kafkajs cannot run two consumers of one group
  // from one client (see siblingKafka).
  const startTier = (tier: DelayTier, index: number): Promise<RunningConsumer> =>
    start(
      { ...settings, topics, kafka: index === 0 ? settings.kafka : siblingKafka(settings.kafka) },
      async (payload) => {
        const { batch } = payload;
        // The consumer's own tier, or another only while the group falls back to round robin.
        const batchTier = tierOf.get(batch.topic);
        if (!batchTier)
          throw new Error(`${batch.topic} is not a delay tier of ${settings.workTopic}`);
        await passOnWhenDue(payload, {
          committer,
          route: (message) => route(message, batchTier),
          releaseTime: (message) => releaseTime(message, batchTier),
        });
      },
      {
        committer,
        sharedCommitter: true,
        partitionAssigners: tierAssigners(tierTopic(settings.workTopic, tier)),
      },
    );

  // Started together, so they join the group in one rebalance rather than one each.
  const started = await Promise.allSettled(settings.tiers.map(startTier));
  const consumers = started.flatMap((result) =>
    result.status === 'fulfilled' ? [result.value] : [],
  );
  const stopAll = async () => {
    await Promise.allSettled(consumers.map((consumer) => consumer.stop()));
    await committer.disconnect();
  };
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    await stopAll();
    throw failed.reason;
  }
  return { stop: stopAll };
}

/**
 * One tier batch: passes on each record once it is due, in order, in transactions with its
 * offset, waiting (heartbeating) for the next in between. Stops waiting when the consumer stops
 * or the group rebalances; what was not passed on is fetched again by whoever owns it next.
 */
async function passOnWhenDue(
  { batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload,
  how: {
    committer: TransactionalCommitter;
    route: (message: KafkaMessage) => Output;
    releaseTime: (message: KafkaMessage) => number;
  },
): Promise<void> {
  const { messages, topic, partition } = batch;
  const membership = new Membership();
  const mayWait = () => isRunning() && !isStale() && membership.mayStart();
  await withHeartbeat(
    heartbeat,
    (error) => membership.heard(error, Date.now()),
    async () => {
      let next = 0;
      while (next < messages.length) {
        const now = Date.now();
        let end = next;
        while (end < messages.length && how.releaseTime(messages[end]!) <= now) end += 1;
        if (end > next) {
          if (isStale() || !membership.mayCommit(Date.now())) return;
          const last = messages[end - 1]!.offset;
          await how.committer.commit(messages.slice(next, end).map(how.route), {
            topic,
            partition,
            offset: nextOffset(last),
          });
          resolveOffset(last);
          next = end;
          continue;
        }
        if (!mayWait()) return;
        await waitUntil(how.releaseTime(messages[next]!), mayWait);
      }
    },
  );
}

/** Sleeps until `at`, looking every WAIT_CHECK_EVERY_MS whether to stop waiting early. */
async function waitUntil(at: number, mayWait: () => boolean): Promise<void> {
  for (let left = at - Date.now(); left > 0 && mayWait(); left = at - Date.now()) {
    await sleep(Math.min(left, WAIT_CHECK_EVERY_MS));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
