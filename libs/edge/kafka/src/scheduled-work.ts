import type { Kafka, KafkaMessage } from 'kafkajs';
import {
  DELAY_TIERS,
  decodeDueAt,
  DUE_AT_HEADER,
  encodeDueAt,
  routeFor,
  tierTopic,
  WORK_WINDOW_MS,
} from '@herald/delay-tiers';
import type { AvroCodec } from '@herald/schema-registry';
import type { MessageEvent } from '@herald/messages';
import { TOPICS, type TopicSpec } from '@herald/topics';
import { runDelayTierConsumer, runWorkConsumer, sleep, type RunningConsumer } from './consumers';
import { decodeOrDeadLetter } from './dead-letter';
import type { Output } from './transactional-committer';

/** A record on a work topic that must not be acted on before `dueAt`. */
export interface ScheduledTask {
  messageId: string;
  dueAt: number;
}

export interface ScheduledWorkSettings<T extends ScheduledTask> {
  kafka: Kafka;
  codec: AvroCodec;
  instanceId: string;
  sessionTimeoutMs: number;
  shutdownGraceMs: number;
  partitionsConsumedConcurrently: number;
  maxInFlight: number;
  /** e.g. 'herald-sender'; the tiers' consumer group is `<groupId>-delays`. */
  groupId: string;
  service: string;
  work: TopicSpec;
  delays: readonly TopicSpec[];
  logger: { warn(message: string): void };
  /** Does the task's work; returns what to record (events, the next task via scheduleTask). */
  perform(task: T): Promise<Output[]>;
  /**
   * What to record for a task whose handling kept failing inside Herald (see runWorkConsumer):
   * an `internal` failure, under its policy where that can still be worked out.
   */
  recordFailure(task: T, error: unknown): Promise<Output[]>;
}

/**
 * The sender's and the status checker's shared shape: a work topic whose tasks are acted on
 * when due, and delay tiers that hold tasks due later (see @herald/delay-tiers). Undecodable
 * tasks are dead-lettered; everything a task produces commits with its offset.
 */
export async function runScheduledWork<T extends ScheduledTask>(
  settings: ScheduledWorkSettings<T>,
): Promise<RunningConsumer[]> {
  const common = {
    kafka: settings.kafka,
    instanceId: settings.instanceId,
    sessionTimeoutMs: settings.sessionTimeoutMs,
    shutdownGraceMs: settings.shutdownGraceMs,
    service: settings.service,
    logger: settings.logger,
  };
  const decode = (message: KafkaMessage, topic: string, partition: number) =>
    decodeOrDeadLetter<T>(
      settings.codec,
      message,
      { topic, partition, service: settings.service },
      settings.logger,
    );
  const work = await runWorkConsumer({
    ...common,
    groupId: settings.groupId,
    topics: [settings.work.name],
    partitionsConsumedConcurrently: settings.partitionsConsumedConcurrently,
    maxInFlight: settings.maxInFlight,
    // The tiers hand a task over less than the smallest hold before it is due, and each task
    // sleeps out its own remainder (below), so a task due sooner is not kept waiting behind one
    // due later. Only a task due further ahead (a clock jump, say) pauses its partition.
    notBefore: (message) =>
      (decodeDueAt(message.headers?.[DUE_AT_HEADER] as Buffer | undefined) ?? 0) - WORK_WINDOW_MS,
    handle: async (message, topic, partition, batch) => {
      const decoded = await decode(message, topic, partition);
      if (!decoded.ok) return [decoded.deadLetter];
      const task = decoded.value;
      // A task due far ahead goes back to the tiers. Node's timers count from the event loop's
      // cached clock, so a sleep can end a few milliseconds before Date.now() says it should:
      // sleep again until the task is due.
      if (routeFor(task.dueAt, Date.now()) !== 'work') {
        return [await scheduleTask(settings.codec, settings.work.name, task)];
      }
      for (let early = task.dueAt - Date.now(); early > 0; early = task.dueAt - Date.now()) {
        await sleep(early);
      }
      // Stopping or rebalancing while it waited: the next owner does it.
      if (!batch.mayStart()) return null;
      return settings.perform(task);
    },
    giveUp: async (message, topic, partition, error) => {
      const decoded = await decode(message, topic, partition);
      return decoded.ok ? settings.recordFailure(decoded.value, error) : [decoded.deadLetter];
    },
  });
  try {
    const delays = await runDelayTierConsumer({
      ...common,
      groupId: `${settings.groupId}-delays`,
      topics: settings.delays.map((topic) => topic.name),
      // Every tier partition waits on its own head record, so each needs its own slot.
      partitionsConsumedConcurrently: settings.delays.reduce((n, t) => n + t.partitions, 0),
      workTopic: settings.work.name,
      tiers: DELAY_TIERS,
    });
    return [work, delays];
  } catch (error) {
    await work.stop();
    throw error;
  }
}

/** An event for herald.message-events, keyed by its message so its timeline stays in order. */
export async function eventOutput(codec: AvroCodec, event: MessageEvent): Promise<Output> {
  return {
    topic: TOPICS.messageEvents.name,
    key: event.messageId,
    value: await codec.encode(TOPICS.messageEvents.name, event),
  };
}

/** A task due later goes to the largest delay tier that fits, or straight to work. */
export async function scheduleTask(
  codec: AvroCodec,
  workTopic: string,
  task: ScheduledTask,
): Promise<Output> {
  const route = routeFor(task.dueAt, Date.now());
  return {
    topic: route === 'work' ? workTopic : tierTopic(workTopic, route),
    key: task.messageId,
    // Tiers carry the work topic's records byte for byte, so they share its schema.
    value: await codec.encode(workTopic, task),
    headers: { [DUE_AT_HEADER]: encodeDueAt(task.dueAt) },
  };
}
