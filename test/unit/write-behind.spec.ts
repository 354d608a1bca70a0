import type { EventType, MessageEvent } from '@herald/messages';
import { PendingEvents, type PendingRecord } from '@herald/read-model';

const TOPIC = 'herald.message-events';

function event(messageId: string, seq: number, type: EventType): MessageEvent {
  return {
    eventId: `${messageId}:${seq}`,
    messageId,
    tenantId: 't',
    seq,
    type,
    status: type === 'queued' ? 'queued' : 'sent',
    attempt: type === 'queued' ? 0 : 1,
    maxAttempts: 3,
    occurredAt: 1_000,
    nextAttemptAt: null,
    error: null,
    log: null,
    message: null,
    providerMessageId: null,
    provider: null,
    failover: null,
  };
}

function record(offset: number, messageId: string, seq: number, type: EventType): PendingRecord {
  return { offset: String(offset), event: event(messageId, seq, type), appendedAt: 900 };
}

function deadLetter(offset: number): PendingRecord {
  return {
    offset: String(offset),
    deadLetter: { topic: 'herald.dead-letters', key: 'k', value: Buffer.from('bad') },
  };
}

const ids = (events: MessageEvent[]) => events.map((e) => `${e.messageId}:${e.seq}`);

describe('PendingEvents (the projector write-behind buffer)', () => {
  it('holds a message that is only queued until its hold ends', () => {
    const pending = new PendingEvents(200);
    pending.add(TOPIC, 0, [record(10, 'a', 1, 'queued')], 1_000);

    expect(pending.nextRoundAt(1_050)).toBe(1_200);
    expect(pending.take(1_050).events).toEqual([]);
    expect(ids(pending.take(1_200).events)).toEqual(['a:1']);
  });

  it('takes queued and sent together once sent arrives, as one timeline in order', () => {
    const pending = new PendingEvents(200);
    pending.add(TOPIC, 0, [record(10, 'a', 1, 'queued'), record(11, 'b', 1, 'queued')], 1_000);
    pending.add(TOPIC, 0, [record(12, 'a', 2, 'sent')], 1_040);

    expect(pending.nextRoundAt(1_050)).toBe(1_050);
    const taken = pending.take(1_050);
    expect(ids(taken.events)).toEqual(['a:1', 'a:2']);
    // b (offset 11) is still held, so the partition's offset cannot pass it.
    const offsets = pending.offsetsAfter(taken);
    expect(offsets).toEqual([{ topic: TOPIC, partition: 0, offset: '11' }]);
    pending.written(taken, offsets);
    expect(pending.size).toBe(1);
    // Nothing more may be committed until b is written.
    pending.add(TOPIC, 0, [record(13, 'c', 1, 'queued')], 1_060);
    expect(pending.offsetsAfter(pending.take(1_060))).toEqual([]);
  });

  it('commits a partition only up to its first record not yet written', () => {
    const pending = new PendingEvents(200);
    pending.add(TOPIC, 3, [record(10, 'a', 1, 'sent'), record(11, 'b', 1, 'queued')], 1_000);
    pending.add(TOPIC, 3, [record(12, 'c', 1, 'sent')], 1_000);

    const first = pending.take(1_000);
    expect(ids(first.events)).toEqual(['a:1', 'c:1']);
    const offsets = pending.offsetsAfter(first);
    expect(offsets).toEqual([{ topic: TOPIC, partition: 3, offset: '11' }]);
    pending.written(first, offsets);

    const second = pending.take(1_300);
    expect(ids(second.events)).toEqual(['b:1']);
    const after = pending.offsetsAfter(second);
    expect(after).toEqual([{ topic: TOPIC, partition: 3, offset: '13' }]);
    pending.written(second, after);
    expect(pending.size).toBe(0);
    expect(pending.nextRoundAt(2_000)).toBeNull();
  });

  it('takes dead letters at once, with their offsets', () => {
    const pending = new PendingEvents(200);
    pending.add(TOPIC, 1, [deadLetter(5)], 1_000);

    expect(pending.nextRoundAt(1_000)).toBe(1_000);
    const taken = pending.take(1_000);
    expect(taken.deadLetters).toHaveLength(1);
    expect(pending.offsetsAfter(taken)).toEqual([{ topic: TOPIC, partition: 1, offset: '6' }]);
  });

  it('puts a failed round back, ahead of what came since', () => {
    const pending = new PendingEvents(200);
    pending.add(TOPIC, 0, [record(10, 'a', 1, 'sent')], 1_000);
    const failed = pending.take(1_000);
    pending.add(TOPIC, 0, [record(11, 'a', 2, 'delivered')], 1_010);
    pending.failed(failed);

    expect(pending.size).toBe(2);
    const retried = pending.take(1_020);
    expect(ids(retried.events)).toEqual(['a:1', 'a:2']);
    expect(pending.offsetsAfter(retried)).toEqual([{ topic: TOPIC, partition: 0, offset: '12' }]);
  });

  it('turns the events of a message that cannot be written into dead letters, and moves on', () => {
    const pending = new PendingEvents(0);
    pending.add(
      TOPIC,
      3,
      [
        record(20, 'bad', 1, 'queued'),
        record(21, 'good', 1, 'queued'),
        record(22, 'bad', 2, 'sent'),
      ],
      1_000,
    );
    const taken = pending.take(1_000);
    const key = 't:bad';
    expect(pending.takenOf(taken, key)).toEqual([
      {
        event: event('bad', 1, 'queued'),
        offset: '20',
        appendedAt: 900,
        topic: TOPIC,
        partition: 3,
      },
      { event: event('bad', 2, 'sent'), offset: '22', appendedAt: 900, topic: TOPIC, partition: 3 },
    ]);
    const letters = [deadLetter(20), deadLetter(22)].map((r) =>
      'deadLetter' in r ? r.deadLetter : null,
    );
    pending.deadLettered(taken, key, letters);

    expect(ids(taken.events)).toEqual(['good:1']);
    expect(taken.deadLetters).toEqual(letters);
    expect(taken.appendedAt.has('bad:1')).toBe(false);
    // Every record of the round is accounted for, so the offset passes the dead-lettered ones.
    const offsets = pending.offsetsAfter(taken);
    expect(offsets).toEqual([{ topic: TOPIC, partition: 3, offset: '23' }]);
    pending.written(taken, offsets);
    expect(pending.size).toBe(0);
  });

  it('keeps dead letters made in a round that then failed, for the next round', () => {
    const pending = new PendingEvents(0);
    pending.add(TOPIC, 0, [record(5, 'bad', 1, 'queued'), record(6, 'slow', 1, 'queued')], 1_000);
    const first = pending.take(1_000);
    pending.deadLettered(first, 't:bad', [
      { topic: 'herald.dead-letter', key: 'bad', value: Buffer.from('x') },
    ]);
    pending.failed(first);

    const second = pending.take(1_001);
    expect(second.deadLetters).toHaveLength(1);
    expect(ids(second.events)).toEqual(['slow:1']);
  });

  it('forgets everything on a rebalance, and a round taken before it reports no offsets', () => {
    const pending = new PendingEvents(200);
    pending.add(TOPIC, 0, [record(10, 'a', 1, 'sent'), record(11, 'b', 1, 'queued')], 1_000);
    const inFlight = pending.take(1_000);
    pending.clear();

    expect(pending.size).toBe(0);
    expect(pending.offsetsAfter(inFlight)).toEqual([]);
    pending.written(inFlight, []);
    expect(pending.size).toBe(0);
    expect(pending.nextRoundAt(5_000)).toBeNull();
  });

  it('holds a queued message longer while the projector is behind', () => {
    const pending = new PendingEvents(200, { busyAt: 2, busyHoldMs: 5_000, maxHoldMs: 60_000 });
    pending.add(
      TOPIC,
      0,
      [record(10, 'a', 1, 'queued'), record(11, 'b', 1, 'queued'), record(12, 'c', 1, 'queued')],
      1_000,
    );

    expect(pending.take(1_050).events).toEqual([]);
    expect(pending.nextRoundAt(1_050)).toBe(6_000);
    // b's sent arrives: b goes at once, and with fewer pending the short hold applies again.
    pending.add(TOPIC, 0, [record(13, 'b', 2, 'sent')], 1_050);
    const taken = pending.take(1_050);
    expect(ids(taken.events)).toEqual(['b:1', 'b:2']);
    pending.written(taken, pending.offsetsAfter(taken));
    expect(ids(pending.take(1_200).events)).toEqual(['a:1', 'c:1']);
  });

  it('holds queued messages twice as long as recent ones waited for their sent', () => {
    const pending = new PendingEvents(200, { busyAt: 100, busyHoldMs: 5_000, maxHoldMs: 60_000 });
    // A slow sender: a's sent comes 1 s after its queued, which was written alone meanwhile.
    pending.add(TOPIC, 0, [record(1, 'a', 1, 'queued')], 0);
    expect(ids(pending.take(200).events)).toEqual(['a:1']);
    pending.add(TOPIC, 0, [record(2, 'a', 2, 'sent')], 1_000);
    pending.take(1_000);

    // So b's queued is held 2 s, long enough for its sent 1.5 s later: both go in one round.
    pending.add(TOPIC, 0, [record(3, 'b', 1, 'queued')], 10_000);
    expect(pending.nextRoundAt(10_000)).toBe(12_000);
    pending.add(TOPIC, 0, [record(4, 'b', 2, 'sent')], 11_500);
    expect(ids(pending.take(11_500).events)).toEqual(['b:1', 'b:2']);

    // And the next one, twice the longer of the two waits.
    pending.add(TOPIC, 0, [record(5, 'c', 1, 'queued')], 20_000);
    expect(pending.nextRoundAt(20_000)).toBe(23_000);
  });

  it('holds longer than the busy hold if recent waits were longer, up to the longest hold', () => {
    const busy = { busyAt: 1, busyHoldMs: 5_000, maxHoldMs: 30_000 };
    const pending = new PendingEvents(200, busy);
    pending.add(TOPIC, 0, [record(1, 'slow', 1, 'queued')], 0);
    pending.add(TOPIC, 0, [record(2, 'slow', 2, 'sent')], 12_000); // waited 12 s
    pending.take(12_000);
    pending.add(TOPIC, 0, [record(3, 'a', 1, 'queued'), record(4, 'b', 1, 'queued')], 20_000);
    expect(pending.nextRoundAt(20_000)).toBe(44_000);

    pending.add(TOPIC, 0, [record(5, 'later', 1, 'queued')], 50_000);
    pending.add(TOPIC, 0, [record(6, 'later', 2, 'sent')], 110_000); // waited 60 s
    pending.add(TOPIC, 0, [record(7, 'c', 1, 'queued')], 110_000);
    expect(pending.nextRoundAt(110_000)).toBe(110_000); // a and b are due; the rest can wait
    pending.take(110_000);
    expect(pending.nextRoundAt(110_000)).toBe(140_000);
  });

  it('holds nothing when the hold is 0', () => {
    const pending = new PendingEvents(0);
    pending.add(TOPIC, 0, [record(10, 'a', 1, 'queued')], 1_000);
    expect(ids(pending.take(1_000).events)).toEqual(['a:1']);
  });
});
