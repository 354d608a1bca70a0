/**
 * Retry precision: how late Herald's retries fire against when they were due.
 *
 * Each message goes to a simulator webhook scripted `retry-after-<s>-1`: the first attempt is
 * answered 429 with `Retry-After: <s>`, the second 200. At HERALD_TIME_SCALE=1 under the
 * `webhook` policy the sender schedules the retry at max(policy delay, now + s) and says when in
 * the `delivery_attempted` event's nextAttemptAt. Lateness = the simulator's receivedAt of the
 * second attempt − that nextAttemptAt; below zero is a retry fired early.
 */

import { randomInt, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer } from 'kafkajs';
import type { MessageEvent } from '@herald/messages';
import { TOPICS } from '@herald/topics';
import { distribution, type Distribution } from '../stats';
import { IncompleteRunError } from './load';
import { hookUrl, webhookRequest, type RequestProducer } from './requests';
import type { HeraldServices } from './services';

export interface RetryPrecisionResult {
  messages: number;
  /** Retries whose second attempt reached the simulator and whose due time was read. */
  measured: number;
  /** Lateness in ms (negative = early). */
  lateness: Distribution;
  early: number;
  /** nextAttemptAt − the failed attempt's occurredAt, in seconds: how far ahead they were due. */
  scheduledAheadS: { min: number; max: number };
  /** Messages with no second attempt or no delivery_attempted event by the deadline. */
  missing: string[];
}

interface RecordedRequest {
  path: string;
  receivedAt: number;
  attempt: number;
  outcome: string;
}

/**
 * Reads herald.message-events from its end as it was when called, through a throwaway consumer
 * group, keeping each message's first delivery_attempted of this tenant.
 */
async function watchAttempts(
  producer: RequestProducer,
  tenantId: string,
  idPrefix: string,
  runId: string,
): Promise<{ due: Map<string, MessageEvent>; stop: () => Promise<void> }> {
  const kafka = producer.client;
  const topic = TOPICS.messageEvents.name;
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `herald-bench-${runId}-retry-${randomUUID()}`;
  const ends = await admin.fetchTopicOffsets(topic);
  const consumer: Consumer = kafka.consumer({ groupId, readUncommitted: false });
  const due = new Map<string, MessageEvent>();
  const joined = new Promise<void>((resolve) =>
    consumer.on(consumer.events.GROUP_JOIN, () => resolve()),
  );
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: false });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ message }) => {
      if (!message.value) return;
      const event = await producer.avro.decode<MessageEvent>(
        message.value,
        TOPICS.messageEvents.valueSchema,
      );
      if (event.tenantId !== tenantId || event.type !== 'delivery_attempted') return;
      if (!event.messageId.startsWith(`${idPrefix}-`)) return;
      const known = due.get(event.messageId);
      if (!known || event.attempt < known.attempt) due.set(event.messageId, event);
    },
  });
  await joined;
  // From where the topic ended before anything was produced, whatever the group's own start.
  for (const { partition, high } of ends) consumer.seek({ topic, partition, offset: high });
  return {
    due,
    stop: async () => {
      await consumer.disconnect().catch(() => undefined);
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    },
  };
}

async function recordedHooks(simUrl: string): Promise<RecordedRequest[]> {
  const response = await fetch(`${simUrl}/_sim/requests?prefix=/hooks/retry-after-`, {
    signal: AbortSignal.timeout(10_000),
  });
  if (response.status !== 200) throw new Error(`simulator /_sim/requests: ${response.status}`);
  return ((await response.json()) as { requests: RecordedRequest[] }).requests;
}

export async function measureRetryPrecision(
  services: HeraldServices,
  producer: RequestProducer,
  options: {
    simUrl: string;
    runId: string;
    tenantId: string;
    idPrefix: string;
    messages: number;
    /** Retry-After drawn uniformly from 1..maxSeconds. */
    maxSeconds: number;
    /** Grace after the latest due time before the run counts as incomplete. */
    graceMs: number;
    log?: (line: string) => void;
  },
): Promise<RetryPrecisionResult> {
  const watch = await watchAttempts(producer, options.tenantId, options.idPrefix, options.runId);
  try {
    const ids: string[] = [];
    const records = await Promise.all(
      Array.from({ length: options.messages }, (_, i) => {
        const id = `${options.idPrefix}-${i}`;
        ids.push(id);
        const seconds = randomInt(1, options.maxSeconds + 1);
        return producer.encode(
          webhookRequest({
            messageId: id,
            tenantId: options.tenantId,
            recipient: hookUrl(options.simUrl, `retry-after-${seconds}-1`, id),
            retryPolicy: 'webhook',
          }),
        );
      }),
    );
    await producer.send(records);
    const producedAt = Date.now();

    // The webhook policy's first retry is 5 s; Retry-After can only push it later.
    const deadline = producedAt + Math.max(5, options.maxSeconds) * 1000 + options.graceMs;
    const second = new Map<string, number>();
    let lastReport = 0;
    for (;;) {
      services.assertRunning();
      for (const request of await recordedHooks(options.simUrl)) {
        if (request.attempt !== 2) continue;
        const id = request.path.slice(request.path.lastIndexOf('/') + 1);
        second.set(id, request.receivedAt);
      }
      const done = ids.filter((id) => second.has(id) && watch.due.has(id)).length;
      if (done === ids.length || Date.now() > deadline) break;
      if (options.log && Date.now() - lastReport > 10_000) {
        lastReport = Date.now();
        options.log(`${done}/${ids.length} retries fired`);
      }
      await sleep(500);
    }

    const lateness: number[] = [];
    const ahead: number[] = [];
    const missing: string[] = [];
    for (const id of ids) {
      const firedAt = second.get(id);
      const event = watch.due.get(id);
      if (firedAt === undefined || !event || event.nextAttemptAt === null) {
        missing.push(id);
        continue;
      }
      lateness.push(firedAt - event.nextAttemptAt);
      ahead.push((event.nextAttemptAt - event.occurredAt) / 1000);
    }
    const result: RetryPrecisionResult = {
      messages: ids.length,
      measured: lateness.length,
      lateness: distribution(lateness),
      early: lateness.filter((ms) => ms < 0).length,
      scheduledAheadS: { min: Math.min(...ahead), max: Math.max(...ahead) },
      missing,
    };
    return result;
  } finally {
    await watch.stop();
  }
}

export function assertComplete(result: RetryPrecisionResult): void {
  if (result.missing.length > 0) {
    throw new IncompleteRunError(
      `retry precision: ${result.missing.length} of ${result.messages} retries not observed ` +
        `(e.g. ${result.missing.slice(0, 3).join(', ')})`,
    );
  }
}
