/**
 * Herald's consumer groups seen from the broker: each stage's backlog sampled during a run
 * (where the pipeline waits), and, after a run, this run's unfinished records skipped so the
 * next Herald on this broker does not inherit them.
 */

import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Kafka } from 'kafkajs';
import {
  DELIVERY_DELAY_TOPICS,
  STATUS_CHECK_DELAY_TOPICS,
  TOPICS,
  WEBHOOK_DELAY_TOPICS,
} from '@herald/topics';
import { formatInt } from '../stats';

// ---------------------------------------------------------------------------------------------
// Where a run waits: each stage's backlog

/**
 * Each partition of `topic` with records `group` has not committed: from its committed offset
 * (or the log start, if it never committed) to the end of the log.
 */
async function uncommitted(
  admin: Admin,
  group: string,
  topic: string,
): Promise<Array<{ partition: number; from: bigint; high: bigint }>> {
  const ends = await admin.fetchTopicOffsets(topic);
  const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return ends
    .map(({ partition, high, low }) => {
      const offset = committed?.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
      const from = BigInt(offset) >= 0n ? BigInt(offset) : BigInt(low);
      return { partition, from, high: BigInt(high) };
    })
    .filter(({ from, high }) => from < high);
}

interface Stage {
  stage: string;
  group: string;
  topic: string;
}

/** The pipeline's stages in order, each as its consumer group and input topic. */
const STAGES: readonly Stage[] = [
  { stage: 'ingest', group: 'herald-ingest', topic: TOPICS.messagesRequested.name },
  { stage: 'sender', group: 'herald-sender', topic: TOPICS.deliveries.name },
  { stage: 'projector', group: 'herald-projector', topic: TOPICS.messageEvents.name },
];

/** The pipeline, then the webhooks service's fan-out and delivery worker (group ids as it hard-codes them). */
export const WEBHOOK_STAGES: readonly Stage[] = [
  ...STAGES,
  { stage: 'fan-out', group: 'herald-webhooks-fan-out', topic: TOPICS.messageEvents.name },
  { stage: 'webhooks', group: 'herald-webhooks', topic: TOPICS.webhookDeliveries.name },
];

export interface StageBacklogs {
  /** Seconds since sampling began, and each stage's records not yet committed then. */
  samples: Array<{ at: number; backlog: Record<string, number> }>;
  stop(): Promise<void>;
}

/**
 * Samples, every `everyMs`, how many records each stage has been given but not committed
 * (end offset − committed offset, summed over partitions). The stage whose backlog grows while
 * the others stay near zero is where a run waits: the bench's profile of the pipeline.
 */
export function sampleStageBacklogs(
  kafka: Kafka,
  everyMs = 1_000,
  stages: readonly Stage[] = STAGES,
): StageBacklogs {
  const samples: StageBacklogs['samples'] = [];
  const admin = kafka.admin();
  const start = performance.now();
  let running = true;
  const loop = (async () => {
    await admin.connect();
    try {
      while (running) {
        const backlog: Record<string, number> = {};
        for (const { stage, group, topic } of stages) {
          const behind = await uncommitted(admin, group, topic);
          backlog[stage] = behind.reduce((sum, { from, high }) => sum + Number(high - from), 0);
        }
        samples.push({ at: (performance.now() - start) / 1000, backlog });
        await sleep(everyMs);
      }
    } finally {
      await admin.disconnect();
    }
  })();
  return {
    samples,
    async stop() {
      running = false;
      await loop.catch(() => undefined);
    },
  };
}

/** e.g. "ingest max 4,800 (at 2 s) · sender max 120 (at 3 s) · projector max 3,900 (at 9 s)". */
export function describeBacklogs(
  samples: StageBacklogs['samples'],
  stages: readonly Stage[] = STAGES,
): string {
  return stages
    .map(({ stage }) => {
      let max = 0;
      let at = 0;
      for (const sample of samples) {
        if ((sample.backlog[stage] ?? 0) > max) {
          max = sample.backlog[stage] ?? 0;
          at = sample.at;
        }
      }
      return `${stage} max ${formatInt(max)} (at ${at.toFixed(0)} s)`;
    })
    .join(' · ');
}

// ---------------------------------------------------------------------------------------------
// Leaving the topics as they were found

type GroupTopics = ReadonlyArray<{ group: string; topics: readonly string[] }>;

/**
 * Each Herald consumer group and what it consumes (group ids as the apps hard-code them), in
 * sets whose groups read disjoint topics, because one throwaway consumer scans a set: the
 * webhooks fan-out reads the projector's topic, so the webhooks service's groups are a set of
 * their own. Its delivery-events projection is left out: those records are keyed by endpoint,
 * not by message, and only write a read model.
 */
const HERALD_GROUP_SETS: readonly GroupTopics[] = [
  [
    { group: 'herald-ingest', topics: [TOPICS.messagesRequested.name] },
    { group: 'herald-sender', topics: [TOPICS.deliveries.name] },
    { group: 'herald-sender-delays', topics: DELIVERY_DELAY_TOPICS.map((topic) => topic.name) },
    { group: 'herald-projector', topics: [TOPICS.messageEvents.name] },
    { group: 'herald-status-checker', topics: [TOPICS.statusChecks.name] },
    {
      group: 'herald-status-checker-delays',
      topics: STATUS_CHECK_DELAY_TOPICS.map((topic) => topic.name),
    },
  ],
  [
    { group: 'herald-webhooks-fan-out', topics: [TOPICS.messageEvents.name] },
    { group: 'herald-webhooks', topics: [TOPICS.webhookDeliveries.name] },
    { group: 'herald-webhooks-delays', topics: WEBHOOK_DELAY_TOPICS.map((topic) => topic.name) },
  ],
];

export interface SkippedBacklog {
  /** Records of this run no Herald consumer had finished, now skipped. */
  skipped: number;
  /** Groups left alone because a member is running (someone else's Herald). */
  busyGroups: string[];
}

/**
 * A run that did not complete leaves its requests, tasks and retries on Herald's topics, and
 * the next Herald started on this broker (another bench scenario, the tests, the demo) would
 * work through them first — retrying against a simulator that is gone, for days. So after its
 * services stop, the bench moves each Herald consumer group past the records it produced (keyed
 * by a message id starting with `prefix`), up to the first record of anyone else, committing
 * explicit offsets. Groups with a running member are left alone.
 */
export async function skipOwnBacklog(
  kafka: Kafka,
  prefix: string,
  options: { dryRun?: boolean; log?: (line: string) => void } = {},
): Promise<SkippedBacklog> {
  const admin = kafka.admin();
  await admin.connect();
  const result: SkippedBacklog = { skipped: 0, busyGroups: [] };
  try {
    const { groups } = await admin.describeGroups(
      HERALD_GROUP_SETS.flat().map(({ group }) => group),
    );
    for (const set of HERALD_GROUP_SETS) {
      const idle: Array<{ group: string; topics: readonly string[] }> = [];
      for (const entry of set) {
        const state = groups.find((g) => g.groupId === entry.group)?.state ?? 'Dead';
        if (state === 'Dead') continue; // never existed: nothing committed, nothing to skip
        if (state === 'Empty') idle.push(entry);
        else result.busyGroups.push(entry.group);
      }
      result.skipped += await skipInGroups(kafka, admin, idle, prefix, options);
    }
  } finally {
    await admin.disconnect();
  }
  return result;
}

interface PartitionScan {
  group: string;
  topic: string;
  partition: number;
  from: bigint;
  high: bigint;
  /** Where the group should resume: past this run's records, at the first of anyone else's. */
  offset: bigint;
  own: number;
  done: boolean;
}

/** The groups' topics are disjoint, so one throwaway consumer scans them all. */
async function skipInGroups(
  kafka: Kafka,
  admin: Admin,
  groups: GroupTopics,
  prefix: string,
  options: { dryRun?: boolean; log?: (line: string) => void },
): Promise<number> {
  const scans = new Map<string, PartitionScan>();
  const keyOf = (topic: string, partition: number) => `${topic}:${partition}`;
  for (const { group, topics } of groups) {
    for (const topic of topics) {
      for (const { partition, from, high } of await uncommitted(admin, group, topic)) {
        const scan = { group, topic, partition, from, high, offset: from, own: 0, done: false };
        scans.set(keyOf(topic, partition), scan);
      }
    }
  }
  if (scans.size === 0) return 0;

  // Committed records only: aborted records and transaction markers are nobody's work.
  const scanGroup = `herald-bench-skip-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  const consumer = kafka.consumer({ groupId: scanGroup, readUncommitted: false });
  let pending = scans.size;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const done = (scan: PartitionScan): void => {
    if (scan.done) return;
    scan.done = true;
    pending -= 1;
    if (pending === 0) finish();
  };
  try {
    const joined = new Promise<void>((resolve) =>
      consumer.on(consumer.events.GROUP_JOIN, () => resolve()),
    );
    // Also emitted for batches of only aborted records and markers, which eachBatch never sees.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const scan = scans.get(keyOf(payload.topic, payload.partition));
      if (!scan || scan.done) return;
      if (BigInt(payload.lastOffset) >= scan.high - 1n) {
        scan.offset = scan.high;
        done(scan);
      }
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...new Set([...scans.values()].map((s) => s.topic))] });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 8,
      eachBatch: async ({ batch }) => {
        const scan = scans.get(keyOf(batch.topic, batch.partition));
        if (!scan || scan.done) return;
        let foreign = false;
        for (const message of batch.messages) {
          const offset = BigInt(message.offset);
          if (offset < scan.from) continue;
          if (offset >= scan.high) break;
          if (message.key?.toString().startsWith(prefix)) {
            scan.offset = offset + 1n;
            scan.own += 1;
          } else {
            scan.offset = offset;
            foreign = true;
            break;
          }
        }
        if (foreign) done(scan);
      },
    });
    await Promise.race([joined, sleep(30_000)]);
    for (const scan of scans.values()) {
      consumer.seek({ topic: scan.topic, partition: scan.partition, offset: scan.from.toString() });
    }
    await Promise.race([finished, sleep(20_000)]);
  } finally {
    await Promise.race([consumer.disconnect().catch(() => undefined), sleep(15_000)]);
    await admin.deleteGroups([scanGroup]).catch(() => undefined);
  }

  let skipped = 0;
  const moves = new Map<
    string,
    { group: string; topic: string; partitions: Array<{ partition: number; offset: string }> }
  >();
  for (const scan of scans.values()) {
    // Nothing of ours, only transaction markers: consumers pass those by anyway, and each move
    // costs seconds (kafkajs' setOffsets joins the group and waits for a fetch).
    if (scan.own === 0 || scan.offset <= scan.from) continue;
    skipped += scan.own;
    const key = `${scan.group} ${scan.topic}`;
    const move = moves.get(key) ?? { group: scan.group, topic: scan.topic, partitions: [] };
    move.partitions.push({ partition: scan.partition, offset: scan.offset.toString() });
    moves.set(key, move);
  }
  for (const { group, topic, partitions } of moves.values()) {
    options.log?.(
      `${options.dryRun ? 'would move' : 'moving'} ${group} on ${topic}: ` +
        partitions.map((p) => `${p.partition}->${p.offset}`).join(' '),
    );
    // Explicit offsets: kafkajs' resetOffsets would commit -1, which Herald's consumers
    // (fromBeginning) read as "start of the topic".
    if (!options.dryRun) await admin.setOffsets({ groupId: group, topic, partitions });
  }
  return skipped;
}
