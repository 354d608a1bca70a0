import { fixKafkajsIdleSpin, fixKafkajsPausedPolls, PAUSED_FETCH_WAIT_MS } from '@herald/kafka';

// kafkajs's own request queue, driven without a socket: what its pending-request check arms.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const RequestQueue = require('kafkajs/src/network/requestQueue') as new (options: object) => {
  pending: unknown[];
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  destroy?(): void;
};

const logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

function newQueue() {
  return new RequestQueue({
    maxInFlightRequests: 1,
    requestTimeout: 30_000,
    enforceRequestTimeout: true,
    clientId: 'test',
    broker: '127.0.0.1:1',
    logger,
  });
}

describe('the kafkajs idle-spin fix (kafkajs#1556)', () => {
  beforeAll(() => {
    expect(fixKafkajsIdleSpin()).toBe(true);
  });

  it('arms no timer when a check finds nothing pending (kafkajs 2.2.4 re-armed one every ms)', () => {
    const queue = newQueue();
    queue.checkPendingRequests();
    expect(queue.throttleCheckTimeoutId).toBeNull();
  });

  it('still schedules a check while requests are pending', () => {
    const queue = newQueue();
    queue.pending.push({ correlationId: 1 });
    // Pending but unsendable (the queue is full): kafkajs's own scheduling comes back later.
    (queue as unknown as { inflight: Map<number, unknown> }).inflight.set(0, {});
    queue.checkPendingRequests();
    expect(queue.throttleCheckTimeoutId).not.toBeNull();
    clearTimeout(queue.throttleCheckTimeoutId!);
  });

  it('is applied once however often clients are made', () => {
    expect(fixKafkajsIdleSpin()).toBe(true);
    const queue = newQueue();
    queue.checkPendingRequests();
    expect(queue.throttleCheckTimeoutId).toBeNull();
  });
});

describe('the request-timeout sweep', () => {
  beforeAll(() => fixKafkajsIdleSpin());
  afterEach(() => jest.useRealTimers());

  it('looks for timed-out requests every 5 s, and still times them out', () => {
    jest.useFakeTimers({ now: 0 });
    const queue = newQueue() as unknown as {
      inflight: Map<number, { sentAt: number; requestTimeout: number; timeoutRequest(): void }>;
      scheduleRequestTimeoutCheck(): void;
      destroy(): void;
    };
    const timedOut = jest.fn();
    queue.inflight.set(1, { sentAt: 0, requestTimeout: 7500, timeoutRequest: timedOut });
    queue.scheduleRequestTimeoutCheck();
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(5000);
    expect(timedOut).not.toHaveBeenCalled();
    jest.advanceTimersByTime(5000);
    expect(timedOut).toHaveBeenCalledTimes(1);
    queue.destroy();
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('the fetch wait while a partition is paused', () => {
  // kafkajs's own consumer group, made without a broker: only what its fetch reads is looked at.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ConsumerGroup = require('kafkajs/src/consumer/consumerGroup') as new (options: object) => {
    maxWaitTime: number;
    subscriptionState: {
      assign(topicPartitions: { topic: string; partitions: number[] }[]): void;
      pause(topicPartitions: { topic: string; partitions?: number[] }[]): void;
      resume(topicPartitions: { topic: string; partitions?: number[] }[]): void;
    };
  };
  const newGroup = () =>
    new ConsumerGroup({
      logger: { namespace: () => logger },
      retry: {},
      groupId: 'test',
      topics: ['work'],
      maxWaitTimeInMs: 10_000,
    });

  beforeAll(() => {
    expect(fixKafkajsPausedPolls()).toBe(true);
  });

  it('long-polls while nothing is paused, polls briefly while anything is, and back', () => {
    const group = newGroup();
    group.subscriptionState.assign([{ topic: 'work', partitions: [0, 1] }]);
    expect(group.maxWaitTime).toBe(10_000);
    group.subscriptionState.pause([{ topic: 'work', partitions: [0] }]);
    expect(group.maxWaitTime).toBe(PAUSED_FETCH_WAIT_MS);
    group.subscriptionState.pause([{ topic: 'work', partitions: [1] }]);
    // Every partition paused: kafkajs sleeps this long instead of fetching.
    expect(group.maxWaitTime).toBe(PAUSED_FETCH_WAIT_MS);
    group.subscriptionState.resume([{ topic: 'work', partitions: [0, 1] }]);
    expect(group.maxWaitTime).toBe(10_000);
  });

  it('keeps each group its own wait, and a wait shorter than the paused one as it is', () => {
    const [a, b] = [newGroup(), newGroup()];
    a.maxWaitTime = 20;
    expect([a.maxWaitTime, b.maxWaitTime]).toEqual([20, 10_000]);
    a.subscriptionState.assign([{ topic: 'work', partitions: [0] }]);
    a.subscriptionState.pause([{ topic: 'work', partitions: [0] }]);
    expect(a.maxWaitTime).toBe(20);
    expect(fixKafkajsPausedPolls()).toBe(true);
    expect(b.maxWaitTime).toBe(10_000);
  });
});
