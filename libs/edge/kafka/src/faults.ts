import { isTransientDecodeError } from './dead-letter';

/**
 * How a consumer tells a fault that will pass (a server unreachable for a while) from one that
 * will not (this record breaks the code that handles it), and what it does about each: a passing
 * fault retries the batch, with every finished record of it kept; a lasting one is retried
 * MAX_RECORD_TRIES times and then given up on, for that record alone (see runWorkConsumer).
 */

/** Tries of one record whose handling throws a lasting fault before it is given up on. */
export const MAX_RECORD_TRIES = 3;

/** MongoDB driver errors that mean the server could not be reached or answered too late. */
const MONGO_UNAVAILABLE = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoPoolClearedError',
  'MongoWaitQueueTimeoutError',
  'MongoTopologyClosedError',
  'MongoNotConnectedError',
  'MongoOperationTimeoutError',
]);

/**
 * Whether an error thrown while handling a record is a fault of the servers around it (the
 * registry, MongoDB, Kafka) rather than of the record: such a fault says nothing about the
 * record, so it never counts towards giving the record up.
 */
export function isTransientFault(error: unknown): boolean {
  const e = error as
    { name?: unknown; message?: unknown; retriable?: unknown; hasErrorLabel?: unknown } | undefined;
  const name = typeof e?.name === 'string' ? e.name : '';
  if (MONGO_UNAVAILABLE.has(name)) return true;
  if (typeof e?.hasErrorLabel === 'function') {
    const labelled = e.hasErrorLabel as (label: string) => boolean;
    if (labelled.call(e, 'RetryableWriteError') || labelled.call(e, 'ResetPool')) return true;
  }
  // FerretDB's SQLite backend refuses a second writer with SQLITE_BUSY: a moment later it works.
  if (typeof e?.message === 'string' && /SQLITE_BUSY|database is locked/.test(e.message)) {
    return true;
  }
  if (name.startsWith('KafkaJS')) return e?.retriable !== false;
  return isTransientDecodeError(error);
}

/** What a heartbeat's error says about the batch that is running while it beats. */
export type MembershipNews = 'rebalancing' | 'lost' | null;

/**
 * REBALANCE_IN_PROGRESS: the group is forming a new generation, and this member still owns its
 * partitions until it rejoins, so it may commit what it finished (as a Java consumer does when its
 * partitions are revoked) but should start nothing new. UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION,
 * FENCED_INSTANCE_ID: the group went on without this member, and another may own the partitions
 * now, so the batch must commit nothing.
 */
export function membershipNews(error: unknown): MembershipNews {
  const type = (error as { type?: unknown } | undefined)?.type;
  if (type === 'REBALANCE_IN_PROGRESS') return 'rebalancing';
  if (type === 'UNKNOWN_MEMBER_ID' || type === 'ILLEGAL_GENERATION') return 'lost';
  if (type === 'FENCED_INSTANCE_ID') return 'lost';
  return null;
}

/**
 * How long the group waits for members to rejoin once a rebalance begins (the consumer's
 * rebalanceTimeout, set to this): past it, the group goes on without a member still busy.
 */
export const REBALANCE_TIMEOUT_MS = 60_000;

/**
 * What one running batch has heard of its group through heartbeats: whether it may start more
 * work, and whether it may still commit. A rebalance that has waited for this member for half
 * the rebalance timeout is treated as lost: the group may go on without it at any moment, and
 * a commit after that could land on partitions another member owns.
 */
export class Membership {
  private rebalancingSince: number | null = null;
  private lost = false;

  /** Takes note of a heartbeat's error. */
  heard(error: unknown, now: number): void {
    const news = membershipNews(error);
    if (news === 'lost') this.lost = true;
    if (news === 'rebalancing') this.rebalancingSince ??= now;
  }

  /** False once a rebalance began or the group went on without this member. */
  mayStart(): boolean {
    return !this.lost && this.rebalancingSince === null;
  }

  mayCommit(now: number): boolean {
    if (this.lost) return false;
    return this.rebalancingSince === null || now - this.rebalancingSince < REBALANCE_TIMEOUT_MS / 2;
  }
}
