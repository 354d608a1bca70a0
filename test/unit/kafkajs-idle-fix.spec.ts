import { fixKafkajsIdleSpin } from '@herald/kafka';

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
