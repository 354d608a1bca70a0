import { messageKey, type MessageEvent } from '@herald/messages';

// Pure bookkeeping: the projector's consumer (libs/edge/kafka) and its read-model store
// (libs/edge/mongo) do the I/O. `D` is whatever the consumer publishes in place of a record it
// cannot decode (the Kafka runtime's dead-letter output); the buffer only keeps it in order.

/** The next offset to consume of one partition (last processed + 1), as Kafka commits it. */
export interface ConsumedPosition {
  topic: string;
  partition: number;
  offset: string;
}

/** One consumed record: an event to project, or a dead letter to publish in its place. */
export type PendingRecord<D = unknown> =
  { offset: string; event: MessageEvent; appendedAt: number } | { offset: string; deadLetter: D };

/** Records taken for one write, to hand back with `written` or `failed`. */
export interface Taken<D = unknown> {
  events: MessageEvent[];
  deadLetters: D[];
  /** When each event was appended to its topic (Kafka timestamp), by eventId. */
  appendedAt: Map<string, number>;
  readonly generation: number;
  readonly entries: Entry<D>[];
}

interface Entry<D> {
  partition: PartitionLog<D>;
  offset: bigint;
  record: PendingRecord<D>;
  state: 'pending' | 'taken' | 'written';
  /** When it was consumed, for a held message's deadline. */
  at: number;
}

interface PartitionLog<D> {
  topic: string;
  partition: number;
  /** Entries in offset order, from the first one not yet written. */
  entries: Entry<D>[];
  /** The offset after the last record consumed. */
  end: bigint;
  /** The offset last reported committable, so only progress is reported. */
  reported: bigint;
}

/**
 * The projector's write-behind buffer: records consumed but not yet in the read model. The
 * projector writes in rounds (see ProjectorService); this decides what each round takes and which
 * offsets may be committed after it, so an offset is committed only once every record before it
 * is written, whatever order the messages were written in.
 *
 * A message whose only news is `queued` is held: its `sent` usually follows within
 * milliseconds, and one insert of both costs far less than an insert and an update. It is held
 * for `holdMs`, or twice as long as recent messages waited for their next event if that is
 * longer (a loaded sender, see NextEventWaits), and at least `busyHoldMs` while more than
 * `busyAt` records are pending (the projector is behind, so under a burst the sender is behind
 * too, and its `sent` comes seconds later); never longer than `maxHoldMs`.
 * Anything else (a later status, a dead letter) is taken by the next round.
 */
export class PendingEvents<D = unknown> {
  private readonly partitions = new Map<string, PartitionLog<D>>();
  /** Pending entries of each message, in order, with the time its first one was consumed. */
  private readonly messages = new Map<string, { entries: Entry<D>[]; ready: boolean }>();
  private readonly deadLetters: Entry<D>[] = [];
  private count = 0;
  private generation = 0;
  private readonly waits = new NextEventWaits();

  constructor(
    private readonly holdMs: number,
    private readonly busy: { busyAt: number; busyHoldMs: number; maxHoldMs: number } = {
      busyAt: 500,
      busyHoldMs: 10_000,
      maxHoldMs: 60_000,
    },
  ) {}

  /** How long a queued-only message is held now. */
  private hold(): number {
    if (this.holdMs === 0) return 0;
    const floor = this.count > this.busy.busyAt ? this.busy.busyHoldMs : this.holdMs;
    return Math.min(this.busy.maxHoldMs, Math.max(floor, this.holdMs, 2 * this.waits.typical()));
  }

  /** Records not yet written (including those a round is writing). */
  get size(): number {
    return this.count;
  }

  add(topic: string, partition: number, records: readonly PendingRecord<D>[], now: number): void {
    if (records.length === 0) return;
    const key = `${topic}:${partition}`;
    let log = this.partitions.get(key);
    if (!log) {
      const first = BigInt(records[0]!.offset);
      log = { topic, partition, entries: [], end: first, reported: first };
      this.partitions.set(key, log);
    }
    for (const record of records) {
      const entry: Entry<D> = {
        partition: log,
        offset: BigInt(record.offset),
        record,
        state: 'pending',
        at: now,
      };
      log.entries.push(entry);
      log.end = entry.offset + 1n;
      this.count += 1;
      if ('deadLetter' in record) {
        this.deadLetters.push(entry);
        continue;
      }
      const id = messageKey(record.event.tenantId, record.event.messageId);
      const message = this.messages.get(id) ?? { entries: [], ready: false };
      if (record.event.type !== 'queued') {
        // The wait of a message whose queued is held here, or was written alone.
        const queuedAt = message.ready ? undefined : message.entries[0]?.at;
        this.waits.nextEvent(id, now, queuedAt);
      }
      message.entries.push(entry);
      message.ready ||= this.holdMs === 0 || record.event.type !== 'queued';
      this.messages.set(id, message);
    }
  }

  /** When the next round has something to take: now, a held message's deadline, or never. */
  nextRoundAt(now: number): number | null {
    if (this.deadLetters.length > 0) return now;
    let earliest: number | null = null;
    const hold = this.hold();
    for (const message of this.messages.values()) {
      if (message.ready) return now;
      const due = message.entries[0]!.at + hold;
      if (earliest === null || due < earliest) earliest = due;
    }
    return earliest === null ? null : Math.max(now, earliest);
  }

  /** Takes everything ready at `now` for one write. */
  take(now: number): Taken<D> {
    const taken: Taken<D> = {
      events: [],
      deadLetters: [],
      appendedAt: new Map(),
      generation: this.generation,
      entries: [],
    };
    for (const entry of this.deadLetters.splice(0)) {
      entry.state = 'taken';
      taken.entries.push(entry);
      if ('deadLetter' in entry.record) taken.deadLetters.push(entry.record.deadLetter);
    }
    const hold = this.hold();
    for (const [id, message] of this.messages) {
      if (!message.ready && now - message.entries[0]!.at < hold) continue;
      if (!message.ready) this.waits.writtenAlone(id, message.entries[0]!.at);
      this.messages.delete(id);
      for (const entry of message.entries) {
        entry.state = 'taken';
        taken.entries.push(entry);
        if ('event' in entry.record) {
          taken.events.push(entry.record.event);
          taken.appendedAt.set(entry.record.event.eventId, entry.record.appendedAt);
        }
      }
    }
    return taken;
  }

  /**
   * The offsets that may be committed once the round's records are written: for each partition
   * it touched whose offset would move, the first record not yet written, or the end of what was
   * consumed. None after `clear()`.
   */
  offsetsAfter(taken: Taken<D>): ConsumedPosition[] {
    if (taken.generation !== this.generation) return [];
    const offsets: ConsumedPosition[] = [];
    for (const log of new Set(taken.entries.map((entry) => entry.partition))) {
      const committable = log.entries.find((entry) => entry.state === 'pending')?.offset ?? log.end;
      if (committable > log.reported) {
        offsets.push({
          topic: log.topic,
          partition: log.partition,
          offset: committable.toString(),
        });
      }
    }
    return offsets;
  }

  /** Marks a round's records written and their offsets committed. */
  written(taken: Taken<D>, committed: readonly ConsumedPosition[]): void {
    if (taken.generation !== this.generation) return;
    for (const entry of taken.entries) {
      entry.state = 'written';
      this.count -= 1;
    }
    for (const log of new Set(taken.entries.map((entry) => entry.partition))) {
      let head = 0;
      while (head < log.entries.length && log.entries[head]!.state === 'written') head += 1;
      log.entries.splice(0, head);
      const offset = committed.find(
        (c) => c.topic === log.topic && c.partition === log.partition,
      )?.offset;
      if (offset !== undefined) log.reported = BigInt(offset);
    }
  }

  /** The events a round took of one message (by messageKey), oldest first, with their source. */
  takenOf(
    taken: Taken<D>,
    key: string,
  ): Array<{
    event: MessageEvent;
    offset: string;
    appendedAt: number;
    topic: string;
    partition: number;
  }> {
    return taken.entries.flatMap((entry) =>
      'event' in entry.record &&
      messageKey(entry.record.event.tenantId, entry.record.event.messageId) === key
        ? [
            {
              event: entry.record.event,
              offset: entry.record.offset,
              appendedAt: entry.record.appendedAt,
              topic: entry.partition.topic,
              partition: entry.partition.partition,
            },
          ]
        : [],
    );
  }

  /**
   * Turns a round's events of one message into dead letters, `letters` in takenOf's order: the
   * message cannot be written, and its records are published to the dead-letter topic instead,
   * so the offsets behind them can move on.
   */
  deadLettered(taken: Taken<D>, key: string, letters: readonly D[]): void {
    let next = 0;
    const gone = new Set<string>();
    for (const entry of taken.entries) {
      const { record } = entry;
      if (!('event' in record)) continue;
      if (messageKey(record.event.tenantId, record.event.messageId) !== key) continue;
      const letter = letters[next++];
      if (letter === undefined) break;
      gone.add(record.event.eventId);
      taken.appendedAt.delete(record.event.eventId);
      entry.record = { offset: record.offset, deadLetter: letter };
      taken.deadLetters.push(letter);
    }
    taken.events = taken.events.filter((event) => !gone.has(event.eventId));
  }

  /** Puts a failed round's records back, to be taken again by a later round. */
  failed(taken: Taken<D>): void {
    if (taken.generation !== this.generation) return;
    for (const entry of taken.entries) {
      entry.state = 'pending';
      if ('deadLetter' in entry.record) {
        this.deadLetters.push(entry);
        continue;
      }
      const id = messageKey(entry.record.event.tenantId, entry.record.event.messageId);
      const message = this.messages.get(id) ?? { entries: [], ready: true };
      // Older than anything consumed since, so they go first.
      const at = message.entries.findIndex((other) => other.offset > entry.offset);
      message.entries.splice(at < 0 ? message.entries.length : at, 0, entry);
      message.ready = true;
      this.messages.set(id, message);
    }
  }

  /**
   * Forgets everything: after a rebalance the consumer starts again from the committed offsets,
   * so every record not committed is consumed again. A round in flight writes what it took
   * (harmless: the projection is idempotent) but reports no offsets.
   */
  clear(): void {
    this.generation += 1;
    this.partitions.clear();
    this.messages.clear();
    this.deadLetters.length = 0;
    this.count = 0;
  }
}

/**
 * How long recent messages waited, as this projector consumed them, between their `queued` and
 * their next event: the sender's pace. A hold shorter than that writes each queued message alone
 * and its `sent` as an update, and on FerretDB v1 an update scans the collection, so a slow
 * sender would make slow rounds, which would split more messages: learning the wait breaks that
 * circle. The typical wait is the 90th percentile of the last `SAMPLES`, so a few messages
 * scheduled for later do not stretch it.
 */
export class NextEventWaits {
  private static readonly SAMPLES = 200;
  /** Messages whose queued was written alone, by when it was consumed, to learn their wait too. */
  private static readonly REMEMBERED = 10_000;
  private readonly samples: number[] = [];
  private next = 0;
  private cached: number | undefined;
  private readonly alone = new Map<string, number>();

  /** A message's first event after `queued` arrived at `now`; `queuedAt` if its queued is held. */
  nextEvent(messageId: string, now: number, queuedAt: number | undefined): void {
    const since = queuedAt ?? this.alone.get(messageId);
    this.alone.delete(messageId);
    if (since === undefined) return;
    this.samples[this.next] = Math.max(0, now - since);
    this.next = (this.next + 1) % NextEventWaits.SAMPLES;
    this.cached = undefined;
  }

  writtenAlone(messageId: string, queuedAt: number): void {
    this.alone.set(messageId, queuedAt);
    if (this.alone.size > NextEventWaits.REMEMBERED) {
      this.alone.delete(this.alone.keys().next().value!);
    }
  }

  /** 0 until a wait was seen. */
  typical(): number {
    if (this.cached === undefined) {
      const sorted = [...this.samples].sort((a, b) => a - b);
      this.cached = sorted.length === 0 ? 0 : sorted[Math.floor(sorted.length * 0.9)]!;
    }
    return this.cached;
  }
}
