import { Logger } from '@nestjs/common';
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { HeraldConfig } from '@herald/config';
import {
  runWriteBehindConsumer,
  type Output,
  type RunningConsumer,
  type TransactionalCommitter,
} from '@herald/kafka';
import type { ReadModelStore } from '@herald/mongo';
import { PendingEvents } from '@herald/read-model';
import type { AvroCodec } from '@herald/schema-registry';
import { TOPICS } from '@herald/topics';
import { decodeRecords } from './decode-records';
import { recordApplied } from './projector-metrics';

export const PROJECTOR_GROUP = 'herald-projector';

/**
 * Bound on records consumed but not yet written; the consumer waits while it is reached. Held
 * queued messages count, and while the consumer waits it cannot see the `sent` events that would
 * free them, so a burst larger than this ends in queued messages written alone and updated later
 * (on FerretDB, a scan each: 10,000 made a 20,000-message burst take minutes). 30,000 records
 * take ~110 MB.
 */
const MAX_PENDING = 30_000;
/** Pause after a failed write round (MongoDB unreachable, say) before the next. */
const RETRY_AFTER_FAILURE_MS = 1_000;

/**
 * Consumes herald.message-events into the MongoDB read model, writing behind: consumed events
 * wait in PendingEvents (libs/domain/read-model) and are written in rounds, one round at a time (each round's events go
 * in one bulk write per collection), and offsets are committed after each round for what it made
 * durable. Records consumed while a round is writing make up the next one.
 */
export class Projection {
  private readonly logger = new Logger('Projector');
  private consumer: RunningConsumer | undefined;
  private committer: TransactionalCommitter | undefined;
  private readonly pending: PendingEvents<Output>;
  private writing = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;
  private stopped = false;
  /** Batches waiting for room in the buffer. */
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly config: HeraldConfig,
    private readonly kafka: Kafka,
    private readonly codec: AvroCodec,
    private readonly store: ReadModelStore,
  ) {
    this.pending = new PendingEvents<Output>(config.projectorHoldMs);
  }

  /** Ensures the read model's indexes, then joins the group and projects until stop(). */
  async start(): Promise<void> {
    await this.store.ensureIndexes();
    const { consumer, committer } = await runWriteBehindConsumer({
      kafka: this.kafka,
      groupId: PROJECTOR_GROUP,
      topics: [TOPICS.messageEvents.name],
      instanceId: this.config.instanceId,
      sessionTimeoutMs: this.config.sessionTimeoutMs,
      partitionsConsumedConcurrently: this.config.partitionConcurrency,
      accept: (messages, topic, partition) => this.accept(messages, topic, partition),
      onJoin: () => this.pending.clear(),
    });
    this.consumer = consumer;
    this.committer = committer;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const wake of this.waiting.splice(0)) wake();
    await this.consumer?.stop();
  }

  private async accept(messages: KafkaMessage[], topic: string, partition: number): Promise<void> {
    const records = await decodeRecords(this.codec, messages, { topic, partition }, this.logger);
    this.pending.add(topic, partition, records, Date.now());
    this.schedule();
    while (this.pending.size >= MAX_PENDING && !this.stopped) {
      await new Promise<void>((wake) => this.waiting.push(wake));
    }
  }

  /** Arranges the next round for when it has something to take (sooner replaces later). */
  private schedule(delayMs?: number): void {
    if (this.writing || this.stopped) return;
    const now = Date.now();
    const at = delayMs === undefined ? this.pending.nextRoundAt(now) : now + delayMs;
    if (at === null) return;
    if (this.timer) {
      if (this.timerAt <= at) return;
      clearTimeout(this.timer);
    }
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.round();
    }, at - now);
  }

  private async round(): Promise<void> {
    this.writing = true;
    const taken = this.pending.take(Date.now());
    let retryIn: number | undefined;
    try {
      const applied = await this.store.write(taken.events);
      recordApplied(
        applied.map(({ event, requestedAt, firstSend }) => ({
          type: event.type,
          appendedAt: taken.appendedAt.get(event.eventId) ?? Date.now(),
          requestedAt,
          firstSend,
        })),
        Date.now(),
      );
      const offsets = this.pending.offsetsAfter(taken);
      if (this.committer && (offsets.length > 0 || taken.deadLetters.length > 0)) {
        await this.committer.commit(taken.deadLetters, offsets);
      }
      this.pending.written(taken, offsets);
    } catch (error) {
      // Nothing committed: the records go back and are written again (idempotently), dead
      // letters included.
      this.logger.error(`read-model write failed, retrying: ${(error as Error).message}`);
      this.pending.failed(taken);
      retryIn = RETRY_AFTER_FAILURE_MS;
    } finally {
      this.writing = false;
      for (const wake of this.waiting.splice(0)) wake();
      this.schedule(retryIn);
    }
  }
}
