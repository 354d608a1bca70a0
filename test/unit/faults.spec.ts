import { KafkaJSError, KafkaJSProtocolError } from 'kafkajs';
import {
  deadLetter,
  isTransientFault,
  MAX_RECORD_BYTES,
  Membership,
  membershipNews,
  outputSize,
  oversizedOutput,
  REBALANCE_TIMEOUT_MS,
  WriteHealth,
} from '@herald/kafka';

/** A kafkajs protocol error as a heartbeat rejects with it. */
const protocolError = (type: string) => Object.assign(new KafkaJSProtocolError('x'), { type });

describe('which faults are the servers around a record, not the record', () => {
  it('retries MongoDB being unreachable, slow or busy', () => {
    for (const name of [
      'MongoNetworkError',
      'MongoNetworkTimeoutError',
      'MongoServerSelectionError',
      'MongoPoolClearedError',
      'MongoWaitQueueTimeoutError',
    ]) {
      expect(isTransientFault(Object.assign(new Error('down'), { name }))).toBe(true);
    }
    expect(isTransientFault(new Error('SQLITE_BUSY: database is locked'))).toBe(true);
    const labelled = Object.assign(new Error('retry me'), {
      name: 'MongoServerError',
      hasErrorLabel: (label: string) => label === 'RetryableWriteError',
    });
    expect(isTransientFault(labelled)).toBe(true);
  });

  it('retries the registry being down or refusing the credentials', () => {
    expect(isTransientFault(Object.assign(new Error('unavailable'), { status: 503 }))).toBe(true);
    expect(isTransientFault(Object.assign(new Error('who are you'), { status: 401 }))).toBe(true);
    expect(isTransientFault(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe(
      true,
    );
  });

  it("retries Kafka's retriable errors but not the others", () => {
    expect(isTransientFault(new KafkaJSError('leader moved', { retriable: true }))).toBe(true);
    expect(isTransientFault(new KafkaJSError('too large', { retriable: false }))).toBe(false);
  });

  it('counts what the code does with the record against it', () => {
    expect(isTransientFault(new RangeError('Invalid time value'))).toBe(false);
    expect(
      isTransientFault(new TypeError("Cannot read properties of undefined (reading 'x')")),
    ).toBe(false);
    expect(isTransientFault(new Error('invalid "int": 2147483648'))).toBe(false);
    const nodeRange = Object.assign(new RangeError('out of range'), { code: 'ERR_OUT_OF_RANGE' });
    expect(isTransientFault(nodeRange)).toBe(false);
    expect(isTransientFault('a string thrown')).toBe(false);
  });
});

describe('what a heartbeat says about the running batch', () => {
  it('tells a rebalance from being dropped by the group', () => {
    expect(membershipNews(protocolError('REBALANCE_IN_PROGRESS'))).toBe('rebalancing');
    expect(membershipNews(protocolError('UNKNOWN_MEMBER_ID'))).toBe('lost');
    expect(membershipNews(protocolError('ILLEGAL_GENERATION'))).toBe('lost');
    expect(membershipNews(protocolError('FENCED_INSTANCE_ID'))).toBe('lost');
    expect(membershipNews(protocolError('NOT_COORDINATOR_FOR_GROUP'))).toBeNull();
    expect(membershipNews(new Error('connection closed'))).toBeNull();
  });

  it('given a rebalance, starts nothing new but still commits, until it has waited too long', () => {
    const membership = new Membership();
    expect(membership.mayStart()).toBe(true);
    membership.heard(new Error('broker blip'), 1_000);
    expect(membership.mayStart()).toBe(true);

    membership.heard(protocolError('REBALANCE_IN_PROGRESS'), 1_000);
    expect(membership.mayStart()).toBe(false);
    expect(membership.mayCommit(1_000 + REBALANCE_TIMEOUT_MS / 2 - 1)).toBe(true);
    // A later heartbeat of the same rebalance does not restart the clock.
    membership.heard(protocolError('REBALANCE_IN_PROGRESS'), 20_000);
    expect(membership.mayCommit(1_000 + REBALANCE_TIMEOUT_MS / 2)).toBe(false);
  });

  it('once dropped by the group, commits nothing', () => {
    const membership = new Membership();
    membership.heard(protocolError('UNKNOWN_MEMBER_ID'), 5);
    expect(membership.mayStart()).toBe(false);
    expect(membership.mayCommit(5)).toBe(false);
  });
});

describe('records too large for Kafka', () => {
  const output = (bytes: number) => ({ topic: 't', key: 'k', value: Buffer.alloc(bytes) });

  it('names the first output over the limit, with its size', () => {
    expect(oversizedOutput([output(10), output(MAX_RECORD_BYTES - 1)])).toBeNull();
    expect(oversizedOutput([output(10), output(MAX_RECORD_BYTES)])).toBe(
      `a record for t would take ${MAX_RECORD_BYTES + 1} bytes, over the ${MAX_RECORD_BYTES} a Kafka record may take`,
    );
  });

  it('cuts a dead letter whose headers would push it over, saying how long it was', () => {
    const value = Buffer.alloc(MAX_RECORD_BYTES - 10, 7);
    const letter = deadLetter(
      { key: Buffer.from('m'), value, offset: '4', headers: {}, timestamp: '0', attributes: 0 },
      { topic: 'herald.deliveries', partition: 2, service: 'sender' },
      'its outputs are too large',
    );
    expect(outputSize(letter)).toBeLessThanOrEqual(MAX_RECORD_BYTES);
    expect(letter.headers?.['herald-dlq-value-bytes']).toBe(String(value.length));
    expect(letter.value.equals(value.subarray(0, letter.value.length))).toBe(true);
    expect(letter.headers?.['herald-dlq-reason']).toBe('its outputs are too large');
  });
});

describe('WriteHealth (what liveness knows of the writes)', () => {
  it('reports writes failing for longer than the bound, and forgets them at the next success', async () => {
    const health = new WriteHealth();
    let clock = 1_000;
    const now = () => clock;
    await expect(
      health.track('mongodb', () => Promise.reject(new Error('down')), now),
    ).rejects.toThrow('down');
    clock = 60_000;
    await expect(
      health.track('mongodb', () => Promise.reject(new Error('down')), now),
    ).rejects.toThrow();
    expect(health.failing(61_000, 60_000)).toEqual({});
    expect(health.failing(61_001, 60_000)).toEqual({
      mongodb: 'writes failing or unfinished for 60 s',
    });

    await health.track('mongodb', () => Promise.resolve('ok'), now);
    expect(health.failing(200_000, 60_000)).toEqual({});
  });

  it('reports a write that hangs, however the others go', async () => {
    const health = new WriteHealth();
    let release: () => void = () => undefined;
    const hung = health.track(
      'kafka',
      () => new Promise<void>((resolve) => (release = resolve)),
      () => 0,
    );
    await health.track(
      'kafka',
      () => Promise.resolve(),
      () => 5_000,
    );
    expect(health.failing(30_001, 30_000)).toEqual({
      kafka: 'writes failing or unfinished for 30 s',
    });
    release();
    await hung;
    expect(health.failing(30_001, 30_000)).toEqual({});
  });
});
