import { type RecordedRequest } from '../route';
import { Counters, Ring } from './bounded';

/**
 * What the simulator remembers of its traffic: the recordings, the per-path request counts and
 * the per-(route, recipient) attempt counters, all bounded, and the queries over them that
 * `GET /_sim/requests` and `GET /_sim/stats` answer.
 */

export const DEFAULT_MAX_RECORDED = 100_000;
export const DEFAULT_MAX_PATHS = 1_000_000;
export const DEFAULT_STATS_LIMIT = 1000;

export interface RequestFilter {
  path?: string;
  prefix?: string;
  recipient?: string;
  /** Only the most recent n matches. */
  limit?: number;
}

export interface StatsFilter {
  prefix?: string;
  limit?: number;
}

export interface SimStats {
  /** Provider requests received since the last reset, recorded or not. */
  total: number;
  /** Recordings currently held. */
  recorded: number;
  /** Distinct paths with a live counter. */
  paths: number;
  /** Distinct (route, recipient) pairs with a live attempt counter. */
  recipients: number;
  /** Requests per path (of the paths matching the prefix, at most `limit` of them). */
  byPath: Record<string, number>;
  /** True when byPath left paths out because of the limit. */
  truncated: boolean;
}

export interface RecordingsOptions {
  /** Recordings kept; the oldest are dropped first. 0 turns recording off. */
  maxRecorded: number;
  /** Counters kept per kind; least recently used go first. */
  maxCounters: number;
  /** Called with one line per recording. */
  log?: (line: string) => void;
}

export class Recordings {
  private readonly ring: Ring<RecordedRequest>;
  private readonly pathCounts: Counters;
  private readonly sendAttempts: Counters;
  private readonly checkAttempts: Counters;
  private total = 0;
  /**
   * False when recording is off and nothing logs: record() would drop what it is given, so a
   * caller on the hot path can skip building it (the bench runs with recording off).
   */
  readonly keeps: boolean;

  constructor(private readonly options: RecordingsOptions) {
    this.keeps = options.maxRecorded > 0 || options.log !== undefined;
    this.ring = new Ring(options.maxRecorded);
    this.pathCounts = new Counters(options.maxCounters);
    this.sendAttempts = new Counters(options.maxCounters);
    this.checkAttempts = new Counters(options.maxCounters);
  }

  /**
   * Counts a request on arrival, before its body is read, so concurrent requests on one path get
   * attempts in arrival order. Returns its 1-based count on the path: the webhook's attempt.
   */
  arrive(path: string): number {
    this.total += 1;
    return this.pathCounts.increment(path);
  }

  /**
   * The 1-based attempt for `key` (route and recipient): a test's unique recipient is its own
   * sequence however many other messages share the endpoint. Status lookups count apart.
   */
  attempt(kind: 'send' | 'check', key: string): number {
    return (kind === 'check' ? this.checkAttempts : this.sendAttempts).increment(key);
  }

  record(request: RecordedRequest): void {
    if (this.options.maxRecorded > 0) this.ring.push(request);
    const log = this.options.log;
    if (log) {
      const { receivedAt, method, path, recipient, attempt, script, outcome } = request;
      const who = recipient === null ? '' : ` ${recipient}`;
      log(
        `${new Date(receivedAt).toISOString()} ${method} ${path}${who} #${attempt} ${script} -> ${outcome}`,
      );
    }
  }

  requests(filter: RequestFilter = {}): RecordedRequest[] {
    const { path, prefix, recipient, limit } = filter;
    const all =
      path === undefined && prefix === undefined && recipient === undefined
        ? this.ring.select(() => true)
        : this.ring.select(
            (r) =>
              (path === undefined || r.path === path) &&
              (prefix === undefined || r.path.startsWith(prefix)) &&
              (recipient === undefined || r.recipient === recipient),
          );
    return limit !== undefined && all.length > limit ? all.slice(all.length - limit) : all;
  }

  stats(filter: StatsFilter = {}): SimStats {
    const limit = filter.limit ?? DEFAULT_STATS_LIMIT;
    const byPath: Record<string, number> = {};
    let listed = 0;
    let truncated = false;
    for (const [path, count] of this.pathCounts.entries()) {
      if (filter.prefix !== undefined && !path.startsWith(filter.prefix)) continue;
      if (listed >= limit) {
        truncated = true;
        break;
      }
      byPath[path] = count;
      listed += 1;
    }
    return {
      total: this.total,
      recorded: this.ring.size,
      paths: this.pathCounts.size,
      recipients: this.sendAttempts.size + this.checkAttempts.size,
      byPath,
      truncated,
    };
  }

  clear(): void {
    this.ring.clear();
    this.pathCounts.clear();
    this.sendAttempts.clear();
    this.checkAttempts.clear();
    this.total = 0;
  }
}
