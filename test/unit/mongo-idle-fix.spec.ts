import { fixMongoIdlePoolChecks, IDLE_POOL_CHECK_MS } from '@herald/mongo';

// The driver's own pool, its maintenance driven on a stand-in (no server, no socket).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ConnectionPool } = require('mongodb/lib/cmap/connection_pool') as {
  ConnectionPool: { prototype: { ensureMinPoolSize(this: object): void } };
};

function standInPool(minPoolSize: number) {
  return {
    options: { minPoolSize, maxConnecting: 2, minPoolSizeCheckFrequencyMS: 100 },
    poolState: 'ready',
    connections: { prune: () => undefined },
    totalConnectionCount: minPoolSize,
    pendingConnectionCount: 0,
    minPoolSizeTimer: undefined as NodeJS.Timeout | undefined,
    ensureMinPoolSize() {
      ConnectionPool.prototype.ensureMinPoolSize.call(this);
    },
  };
}

describe('the MongoDB idle pool-check fix', () => {
  beforeAll(() => expect(fixMongoIdlePoolChecks()).toBe(true));
  afterEach(() => jest.useRealTimers());

  it('looks after a pool without a minimum every 5 s instead of every 100 ms', () => {
    jest.useFakeTimers();
    const pool = standInPool(0);
    const checks = jest.spyOn(pool, 'ensureMinPoolSize');
    pool.ensureMinPoolSize();
    jest.advanceTimersByTime(IDLE_POOL_CHECK_MS - 1);
    expect(checks).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(1);
    expect(checks).toHaveBeenCalledTimes(2);
    clearTimeout(pool.minPoolSizeTimer);
  });

  it('arms nothing for a pool that is not open', () => {
    jest.useFakeTimers();
    const pool = { ...standInPool(0), poolState: 'closed' };
    pool.ensureMinPoolSize();
    expect(pool.minPoolSizeTimer).toBeUndefined();
    expect(jest.getTimerCount()).toBe(0);
  });
});
