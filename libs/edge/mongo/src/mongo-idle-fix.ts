/**
 * The MongoDB driver (6.x) looks after each connection pool every 100 ms: it tops the pool up to
 * minPoolSize and closes connections that have gone stale. Herald keeps no minimum (minPoolSize
 * 0), so at rest that check finds nothing to do ten times a second in every service: half of
 * what an idle service woke up for. The interval is not a public option (the driver refuses
 * `minPoolSizeCheckFrequencyMS`), so this looks after a pool without a minimum every
 * IDLE_POOL_CHECK_MS instead; a pool with a minimum keeps the driver's pace. Stale connections
 * are still dropped when checked out, so the slower check changes nothing a command sees.
 *
 * If the driver's internals ever change shape the fix steps aside rather than break anything.
 */

interface PoolInternals {
  options?: { minPoolSize?: number };
  minPoolSizeTimer?: NodeJS.Timeout;
  ensureMinPoolSize(): void;
}

export const IDLE_POOL_CHECK_MS = 5_000;

const FIXED = Symbol.for('herald.mongo-idle-fix');

/** Applies the fix once per process; true when it is in place. */
export function fixMongoIdlePoolChecks(): boolean {
  let ConnectionPool: { prototype: PoolInternals & { [FIXED]?: true } } | undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ConnectionPool = require('mongodb/lib/cmap/connection_pool').ConnectionPool;
  } catch {
    return false;
  }
  const prototype = ConnectionPool?.prototype;
  if (!prototype || typeof prototype.ensureMinPoolSize !== 'function') return false;
  if (prototype[FIXED]) return true;
  const ensure = prototype.ensureMinPoolSize;
  prototype.ensureMinPoolSize = function (this: PoolInternals) {
    ensure.call(this);
    // The driver re-armed its 100 ms timer (the pool is open): re-arm it slower instead.
    if ((this.options?.minPoolSize ?? 0) === 0 && this.minPoolSizeTimer !== undefined) {
      clearTimeout(this.minPoolSizeTimer);
      this.minPoolSizeTimer = setTimeout(() => this.ensureMinPoolSize(), IDLE_POOL_CHECK_MS);
    }
  };
  prototype[FIXED] = true;
  return true;
}
