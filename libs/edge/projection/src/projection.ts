import { Logger } from '@nestjs/common';
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { HeraldConfig } from '@herald/config';
import {
  deadLetter,
  errorMessage,
  isTransientFault,
  MAX_RECORD_TRIES,
  runWriteBehindConsumer,
  writeHealth,
  type Output,
  type RunningConsumer,
  type TransactionalCommitter,
} from '@herald/kafka';
import type { AppliedEvent, ReadModelStore } from '@herald/mongo';
import { eventsByMessage, messageKey } from '@herald/messages';
import { PendingEvents, type Taken } from '@herald/read-model';
import type { AvroCodec } from '@herald/schema-registry';
import { TOPICS } from '@herald/topics';
import { recordHop, tracingOn } from '@herald/tracing';
import { decodeRecords } from './decode-records';
import { recordApplied } from './projector-metrics';

export const PROJECTOR_GROUP = 'herald-projector';

export type ProjectionConfig = Pick<
  HeraldConfig,
  'instanceId' | 'sessionTimeoutMs' | 'partitionConcurrency' | 'projectorHoldMs'
>;

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
  /** Rounds in a row in which each message's own write failed, by message key. */
  private readonly writeFaults = new Map<string, number>();

  /** With tracing on, the headers (trace) of each event not yet written, by event id. */
  private readonly traceHeaders = new Map<string, KafkaMessage['headers']>();

  constructor(
    private readonly config: ProjectionConfig,
    private readonly kafka: Kafka,
    private readonly codec: AvroCodec,
    private readonly store: ReadModelStore,
    /** Another group projects the same topic independently (into another database, say). */
    private readonly groupId = PROJECTOR_GROUP,
  ) {
    this.pending = new PendingEvents<Output>(config.projectorHoldMs);
  }

  /** Ensures the read model's indexes, then joins the group and projects until stop(). */
  async start(): Promise<void> {
    await this.store.ensureIndexes();
    const { consumer, committer } = await runWriteBehindConsumer({
      kafka: this.kafka,
      groupId: this.groupId,
      topics: [TOPICS.messageEvents.name],
      instanceId: this.config.instanceId,
      sessionTimeoutMs: this.config.sessionTimeoutMs,
      partitionsConsumedConcurrently: this.config.partitionConcurrency,
      accept: (messages, topic, partition) => this.accept(messages, topic, partition),
      onJoin: () => {
        this.pending.clear();
        this.traceHeaders.clear();
      },
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
    if (tracingOn()) {
      records.forEach((record, i) => {
        if ('event' in record) this.traceHeaders.set(record.event.eventId, messages[i]!.headers);
      });
    }
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

  /**
   * Writes a round's events. When the write fails for a reason other than the server (a record
   * MongoDB or FerretDB refuses, or the fold throws on it), each message is written alone: the
   * others reach the read model, and a message whose own write has failed in MAX_RECORD_TRIES
   * rounds is dead-lettered, its records with the reason, so the offsets behind it move on. The
   * events stay in herald.message-events: a rebuild after a fix projects them.
   */
  private async writeIsolating(taken: Taken<Output>): Promise<AppliedEvent[]> {
    try {
      return await this.store.write(taken.events);
    } catch (error) {
      if (isTransientFault(error)) throw error;
      this.logger.warn(
        `read-model write failed, writing message by message: ${errorMessage(error)}`,
      );
    }
    const applied: AppliedEvent[] = [];
    let fault: unknown;
    let wroteAny = false;
    for (const [key, events] of eventsByMessage(taken.events)) {
      try {
        applied.push(...(await this.store.write(events)));
        this.writeFaults.delete(key);
        wroteAny = true;
      } catch (error) {
        if (isTransientFault(error)) throw error;
        const tries = (this.writeFaults.get(key) ?? 0) + 1;
        this.writeFaults.set(key, tries);
        fault ??= error;
        if (tries < MAX_RECORD_TRIES) continue;
        // A server that refuses every write is not this message's fault: it must answer a ping,
        // or have taken another message's write, before the message is dead-lettered.
        if (!wroteAny) await this.store.ping();
        this.writeFaults.delete(key);
        await this.deadLetterMessage(
          taken,
          key,
          `the read model refused it ${tries} times, last with: ${errorMessage(error)}`,
        );
      }
    }
    // Messages that failed fewer times wait for the next round; the round fails, so nothing is
    // committed past them, and what was written is written again, idempotently.
    if (
      fault !== undefined &&
      taken.events.some((e) => this.writeFaults.has(messageKey(e.tenantId, e.messageId)))
    ) {
      throw fault;
    }
    return applied;
  }

  /** Replaces a message's events in the round with dead letters (re-encoded, since only the events are kept). */
  private async deadLetterMessage(
    taken: Taken<Output>,
    key: string,
    reason: string,
  ): Promise<void> {
    const letters: Output[] = [];
    for (const { event, offset, appendedAt, topic, partition } of this.pending.takenOf(
      taken,
      key,
    )) {
      const value = await this.codec
        .encode(topic, event)
        .catch(() => Buffer.from(JSON.stringify(event)));
      const message = {
        key: Buffer.from(event.messageId),
        value,
        offset,
        headers: {},
        timestamp: String(appendedAt),
        attributes: 0,
      };
      letters.push(deadLetter(message, { topic, partition, service: 'projector' }, reason));
    }
    this.logger.error(`dead-lettered ${letters.length} event(s) of message ${key}: ${reason}`);
    this.pending.deadLettered(taken, key, letters);
  }

  /**
   * With tracing on, each written event's span in its message's trace: from the event's append
   * to its write to the read model.
   */
  private traceWritten(
    events: { eventId: string; type: string }[],
    appendedAt: Map<string, number>,
  ): void {
    if (!tracingOn()) return;
    for (const event of events) {
      const headers = this.traceHeaders.get(event.eventId);
      this.traceHeaders.delete(event.eventId);
      recordHop(
        'projector herald.message-events',
        headers,
        appendedAt.get(event.eventId) ?? Date.now(),
        {
          'herald.event_type': event.type,
        },
      );
    }
  }

  private async round(): Promise<void> {
    this.writing = true;
    const taken = this.pending.take(Date.now());
    let retryIn: number | undefined;
    try {
      const applied = await writeHealth.track('mongodb', () => this.writeIsolating(taken));
      recordApplied(
        applied.map(({ event, requestedAt, firstSend }) => ({
          type: event.type,
          appendedAt: taken.appendedAt.get(event.eventId) ?? Date.now(),
          requestedAt,
          firstSend,
        })),
        Date.now(),
      );
      this.traceWritten(
        applied.map(({ event }) => event),
        taken.appendedAt,
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
