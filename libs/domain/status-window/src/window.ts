import {
  CHANNELS,
  messageKey,
  providerChain,
  type Channel,
  type EventType,
  type MessageEvent,
} from '@herald/messages';

/**
 * The status page's view of traffic: an in-memory window of per-minute buckets over the last
 * hour, folded from herald.message-events as they are read. Nothing here is persisted or
 * rebuilt: the dashboard's consumer starts an hour back on every start and refills it. The
 * window never outputs a tenant id, message id or recipient: only channels, operator-configured
 * provider names, counts and durations leave it.
 */

export const MINUTE_MS = 60_000;
/** Traffic, failure rates and latency: the last hour. */
export const TRAFFIC_WINDOW_MINUTES = 60;
/** Providers' failure shares: the last 5 minutes, recent enough to be an incident. */
export const PROVIDER_WINDOW_MINUTES = 5;

export interface WindowLimits {
  /**
   * Request → sent samples kept per minute. A busy minute may send tens of thousands of
   * messages; a uniform sample of a few hundred (a reservoir, each sample weighted by the
   * minute's count over its size) gives p50 and p99 within a fraction of a percent of rank,
   * while memory and the sort at each report stay fixed: 60 × this, whatever the load.
   */
  latencySamplesPerMinute: number;
  /**
   * Messages remembered from their `queued` (channel, request time) until their outcome, so
   * that `sent` can be timed and `bounced` counted under its channel: events after `queued`
   * do not carry the channel. Oldest forgotten first beyond this.
   */
  trackedMessages: number;
  /** …and forgotten this long after `queued` even without an outcome (a message stuck at sent). */
  trackedForMs: number;
  /** Recent event ids remembered, so an event read twice counts once (see record()). */
  rememberedEventIds: number;
}

export const DEFAULT_WINDOW_LIMITS: WindowLimits = {
  latencySamplesPerMinute: 256,
  // ~200 bytes each: ~20 MB at most. Normally far fewer: an outcome forgets its message.
  trackedMessages: 100_000,
  trackedForMs: 3 * 60 * MINUTE_MS,
  // ~100 bytes each: ~5 MB at most.
  rememberedEventIds: 50_000,
};

export interface ChannelTraffic {
  channel: Channel;
  /** `messages` over the window's covered minutes (see TrafficSummary.windowMinutes). */
  messagesPerMinute: number;
  /** Messages requested on the channel: accepted (`queued`) or refused (`not_sent`). */
  messages: number;
  /** Outcomes that were failures: `undelivered`, `bounced`, `not_sent`. */
  failed: number;
  /** failed / outcomes (messages sent or failed); null when no message reached either. */
  failureRate: number | null;
}

export interface TrafficSummary {
  /**
   * The minutes the rates divide by: the window's per-minute buckets that the consumer has
   * read in full, i.e. from the minute reading started at (an hour back, normally: so 60) to
   * the current minute, which counts as a whole one (so a rate reads at most 1/60 low).
   * 0 until reading has started.
   */
  windowMinutes: number;
  /** Every channel, in CHANNELS order, quiet ones with zeros, so the table keeps its rows. */
  channels: ChannelTraffic[];
}

export interface LatencySummary {
  /** Request (the message's requestedAt) → its first `sent`, median; null without samples. */
  requestToSentP50Ms: number | null;
  requestToSentP99Ms: number | null;
  /** Messages sent in the window (each timed), not the samples kept for the percentiles. */
  samples: number;
}

export interface ProviderCallShare {
  provider: string;
  calls: number;
  failed: number;
  /** failed / calls (calls is never 0: a provider without calls is not listed). */
  failureShare: number;
  /** When the earliest failed call in the window happened (an incident's start), or null. */
  firstFailedAt: number | null;
}

export interface WindowSnapshot {
  traffic: TrafficSummary;
  latency: LatencySummary;
  /** Providers called in the last PROVIDER_WINDOW_MINUTES, by name. */
  providers: ProviderCallShare[];
}

/** What record() did with an event. */
export type Recorded = 'counted' | 'duplicate' | 'before_window';

interface ChannelCounts {
  requested: number;
  failed: number;
  outcomes: number;
}

interface ProviderCounts {
  calls: number;
  failed: number;
  firstFailedAt: number | null;
}

interface Reservoir {
  /** Samples offered this minute. */
  seen: number;
  kept: number[];
}

interface MinuteBucket {
  channels: Map<Channel, ChannelCounts>;
  providers: Map<string, ProviderCounts>;
  latency: Reservoir;
}

interface TrackedMessage {
  channel: Channel;
  requestedAt: number;
  trackedAt: number;
  sent: boolean;
}

const FAILED_OUTCOMES: ReadonlySet<EventType> = new Set(['undelivered', 'bounced', 'not_sent']);
/**
 * Outcomes a failure rate is over. `canceled` is left out: it is someone's decision, not a
 * delivery result, so it says nothing about how well messages get through.
 */
const OUTCOMES: ReadonlySet<EventType> = new Set([...FAILED_OUTCOMES, 'delivered']);
/** After these a message has nothing left to time or attribute (a resend is a fresh run). */
const FORGETTING: ReadonlySet<EventType> = new Set([...OUTCOMES, 'canceled']);
/** Send events: the sender's, each the result of one call when it carries the call's log. */
const SEND_SUCCESS: ReadonlySet<EventType> = new Set(['sent', 'delivered']);
const SEND_FAILURE: ReadonlySet<EventType> = new Set(['delivery_attempted', 'undelivered']);
const KNOWN_CHANNELS: ReadonlySet<string> = new Set(CHANNELS);
/** Provider names are the operator's configuration: a handful. This only bounds a surprise. */
const MAX_PROVIDER_CHANNELS = 256;

export function minuteOf(at: number): number {
  return Math.floor(at / MINUTE_MS);
}

export class StatusWindow {
  private readonly limits: WindowLimits;
  private readonly random: () => number;
  private readonly buckets = new Map<number, MinuteBucket>();
  /** In insertion order (about `queued` order), so the oldest are first to forget. */
  private readonly tracked = new Map<string, TrackedMessage>();
  private readonly eventIds = new Set<string>();
  /**
   * The channel each provider serves, learnt from `queued` events (whose providers ingest has
   * checked against the configured ones): an outcome of a message whose `queued` came before
   * the window, or was forgotten, is still counted under its channel when it names a provider.
   */
  private readonly providerChannels = new Map<string, Channel>();
  private coveredSince: number | null = null;
  private prunedTo: number | null = null;

  /**
   * @param random The reservoir's random source in [0, 1) (injected: tests pin it).
   */
  constructor(options: { limits?: Partial<WindowLimits>; random?: () => number } = {}) {
    this.limits = { ...DEFAULT_WINDOW_LIMITS, ...options.limits };
    this.random = options.random ?? Math.random;
  }

  /**
   * Reading starts at `since` (an hour back, normally): every event from then on is seen, so
   * rates divide by the minutes since (see TrafficSummary.windowMinutes). A later call (the
   * consumer started over) keeps the earliest start: what was counted stays counted.
   */
  coverFrom(since: number): void {
    if (this.coveredSince === null || since < this.coveredSince) this.coveredSince = since;
  }

  /**
   * Folds one event in. An event whose id was seen recently is a replay (a consumer that read
   * a stretch again after a restart or rebalance) and counts once; the memory of ids is bounded
   * (rememberedEventIds, oldest forgotten first), which covers a replay of recent records, the
   * only kind the dashboard's consumer makes (it seeks past what it has read). Events are
   * placed by when they happened (a clock ahead of ours counts as now); those from before the
   * window count nothing, but a `queued` among them is still remembered for its `sent`.
   */
  record(event: MessageEvent, now: number): Recorded {
    if (this.eventIds.has(event.eventId)) return 'duplicate';
    this.rememberEventId(event.eventId);
    this.prune(now);

    const at = Math.min(event.occurredAt, now);
    const key = messageKey(event.tenantId, event.messageId);
    const tracked = this.tracked.get(key);
    const bucket =
      minuteOf(at) >= oldestMinute(now, TRAFFIC_WINDOW_MINUTES) ? this.bucketAt(at) : null;

    if (event.type === 'queued' && event.message && isChannel(event.message.channel)) {
      const { channel } = event.message;
      this.track(key, {
        channel,
        requestedAt: event.message.requestedAt,
        trackedAt: at,
        sent: false,
      });
      // Not from `not_sent`: the providers it names are the tenant's request, never checked.
      for (const provider of providerChain(event.message)) this.learnChannel(provider, channel);
    }
    // `queued` and `not_sent` carry the message's summary; later events only its identity.
    const channel =
      (event.message && isChannel(event.message.channel) ? event.message.channel : null) ??
      tracked?.channel ??
      this.channelOfProvider(event.provider);

    if (bucket) {
      if ((event.type === 'queued' || event.type === 'not_sent') && channel) {
        channelCounts(bucket, channel).requested += 1;
      }
      // A message counts once: as through when first sent (webhooks, SMS and email end there
      // or later), as failed when it ends undelivered, bounced or not sent. A bounce after its
      // send turns the one it counted as through into a failure.
      if (channel && (FAILED_OUTCOMES.has(event.type) || firstSendOf(event, tracked))) {
        const counts = channelCounts(bucket, channel);
        const countedAtSend = tracked?.sent === true;
        if (!(FAILED_OUTCOMES.has(event.type) && countedAtSend)) counts.outcomes += 1;
        if (FAILED_OUTCOMES.has(event.type)) counts.failed += 1;
      }
      const call = providerCall(event);
      if (call) {
        const counts = providerCounts(bucket, call.provider);
        counts.calls += 1;
        if (call.failed) {
          counts.failed += 1;
          counts.firstFailedAt = Math.min(counts.firstFailedAt ?? at, at);
        }
      }
    }

    if (tracked && !tracked.sent && isFirstSend(event)) {
      tracked.sent = true;
      if (bucket) this.sample(bucket, Math.max(0, at - tracked.requestedAt));
    }
    if (FORGETTING.has(event.type)) this.tracked.delete(key);
    return bucket ? 'counted' : 'before_window';
  }

  /** The window's figures at `now` (dropping the buckets that have left it). */
  snapshot(now: number): WindowSnapshot {
    this.prune(now);
    return {
      traffic: this.traffic(now),
      latency: this.latency(now),
      providers: this.providers(now),
    };
  }

  traffic(now: number): TrafficSummary {
    const totals = new Map<Channel, ChannelCounts>();
    for (const bucket of this.bucketsSince(oldestMinute(now, TRAFFIC_WINDOW_MINUTES), now)) {
      for (const [channel, counts] of bucket.channels) {
        const total = totals.get(channel) ?? { requested: 0, failed: 0, outcomes: 0 };
        total.requested += counts.requested;
        total.failed += counts.failed;
        total.outcomes += counts.outcomes;
        totals.set(channel, total);
      }
    }
    const windowMinutes = coveredMinutes(this.coveredSince, now);
    return {
      windowMinutes,
      channels: CHANNELS.map((channel) => {
        const total = totals.get(channel) ?? { requested: 0, failed: 0, outcomes: 0 };
        return {
          channel,
          messagesPerMinute: windowMinutes > 0 ? round(total.requested / windowMinutes, 2) : 0,
          messages: total.requested,
          failed: total.failed,
          failureRate: ratio(total.failed, total.outcomes),
        };
      }),
    };
  }

  latency(now: number): LatencySummary {
    const weighted: WeightedSample[] = [];
    let samples = 0;
    for (const { latency } of this.bucketsSince(oldestMinute(now, TRAFFIC_WINDOW_MINUTES), now)) {
      samples += latency.seen;
      // Each kept sample stands for seen / kept of the minute's sends.
      const weight = latency.kept.length > 0 ? latency.seen / latency.kept.length : 0;
      for (const value of latency.kept) weighted.push({ value, weight });
    }
    const p50 = weightedPercentile(weighted, 0.5);
    const p99 = weightedPercentile(weighted, 0.99);
    return {
      requestToSentP50Ms: p50 === null ? null : Math.round(p50),
      requestToSentP99Ms: p99 === null ? null : Math.round(p99),
      samples,
    };
  }

  providers(now: number): ProviderCallShare[] {
    const totals = new Map<string, ProviderCounts>();
    for (const bucket of this.bucketsSince(oldestMinute(now, PROVIDER_WINDOW_MINUTES), now)) {
      for (const [provider, counts] of bucket.providers) {
        const total = totals.get(provider) ?? { calls: 0, failed: 0, firstFailedAt: null };
        total.calls += counts.calls;
        total.failed += counts.failed;
        total.firstFailedAt = earliest(total.firstFailedAt, counts.firstFailedAt);
        totals.set(provider, total);
      }
    }
    return [...totals]
      .filter(([, total]) => total.calls > 0)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([provider, total]) => ({
        provider,
        calls: total.calls,
        failed: total.failed,
        failureShare: round(total.failed / total.calls, 4),
        firstFailedAt: total.firstFailedAt,
      }));
  }

  /** How much the window holds (for tests and metrics: the bounds are what matter). */
  size(): { buckets: number; trackedMessages: number; eventIds: number; latencySamples: number } {
    let latencySamples = 0;
    for (const bucket of this.buckets.values()) latencySamples += bucket.latency.kept.length;
    return {
      buckets: this.buckets.size,
      trackedMessages: this.tracked.size,
      eventIds: this.eventIds.size,
      latencySamples,
    };
  }

  /** Drops the minutes that have left the hour, and messages tracked for too long. */
  private prune(now: number): void {
    const oldest = oldestMinute(now, TRAFFIC_WINDOW_MINUTES);
    // Buckets leave only when the minute turns: not looked through at every event.
    if (oldest !== this.prunedTo) {
      for (const minute of this.buckets.keys()) if (minute < oldest) this.buckets.delete(minute);
      this.prunedTo = oldest;
    }
    for (const [key, message] of this.tracked) {
      // Insertion order is about time order: stop at the first one still young enough.
      if (message.trackedAt >= now - this.limits.trackedForMs) break;
      this.tracked.delete(key);
    }
  }

  private *bucketsSince(fromMinute: number, now: number): Iterable<MinuteBucket> {
    const toMinute = minuteOf(now);
    for (const [minute, bucket] of this.buckets) {
      if (minute >= fromMinute && minute <= toMinute) yield bucket;
    }
  }

  private bucketAt(at: number): MinuteBucket {
    const minute = minuteOf(at);
    let bucket = this.buckets.get(minute);
    if (!bucket) {
      bucket = { channels: new Map(), providers: new Map(), latency: { seen: 0, kept: [] } };
      this.buckets.set(minute, bucket);
    }
    return bucket;
  }

  private track(key: string, message: TrackedMessage): void {
    this.tracked.delete(key); // re-inserted at the end: the newest
    this.tracked.set(key, message);
    while (this.tracked.size > this.limits.trackedMessages) {
      const oldest = this.tracked.keys().next().value;
      if (oldest === undefined) break;
      this.tracked.delete(oldest);
    }
  }

  private rememberEventId(eventId: string): void {
    this.eventIds.add(eventId);
    while (this.eventIds.size > this.limits.rememberedEventIds) {
      const oldest = this.eventIds.values().next().value;
      if (oldest === undefined) break;
      this.eventIds.delete(oldest);
    }
  }

  private learnChannel(provider: string, channel: Channel): void {
    if (this.providerChannels.has(provider)) return;
    if (this.providerChannels.size >= MAX_PROVIDER_CHANNELS) return;
    this.providerChannels.set(provider, channel);
  }

  private channelOfProvider(provider: string | null): Channel | null {
    return provider === null ? null : (this.providerChannels.get(provider) ?? null);
  }

  /** Reservoir sampling (Algorithm R): every send of the minute equally likely to be kept. */
  private sample(bucket: MinuteBucket, latencyMs: number): void {
    const reservoir = bucket.latency;
    reservoir.seen += 1;
    if (reservoir.kept.length < this.limits.latencySamplesPerMinute) {
      reservoir.kept.push(latencyMs);
      return;
    }
    const slot = Math.floor(this.random() * reservoir.seen);
    if (slot < reservoir.kept.length) reservoir.kept[slot] = latencyMs;
  }
}

/**
 * The message's send: its first `sent`, or a `delivered` from the sender (it names the
 * provider it called) when none came first: Slack and in-app confirm at send and never emit
 * `sent`, and leaving them out would time only some channels.
 */
/** Whether this event is the message's first send (untracked: a `sent` is taken as one). */
function firstSendOf(event: MessageEvent, tracked: { sent: boolean } | undefined): boolean {
  if (tracked) return !tracked.sent && isFirstSend(event);
  return event.type === 'sent';
}

function isFirstSend(event: MessageEvent): boolean {
  return event.type === 'sent' || (event.type === 'delivered' && event.provider !== null);
}

/**
 * The provider call an event reports, if any: a send event that carries the call's exchange
 * (`log`). Events without one made no call (content refused before calling, Herald's own
 * pipeline failing), so they say nothing about the provider. Status checks are left out: a
 * check finding "not delivered yet" is no failure, and check events do not name the provider.
 */
export function providerCall(event: MessageEvent): { provider: string; failed: boolean } | null {
  if (event.provider === null || event.log === null) return null;
  if (SEND_SUCCESS.has(event.type)) return { provider: event.provider, failed: false };
  if (SEND_FAILURE.has(event.type)) return { provider: event.provider, failed: true };
  return null;
}

export interface WeightedSample {
  value: number;
  weight: number;
}

/**
 * The nearest-rank percentile of weighted samples: the smallest value whose cumulative weight
 * reaches q of the total (q in (0, 1]). With unit weights this is the textbook nearest rank:
 * p50 of 1..100 is 50, p99 is 99. Null when there is nothing to rank.
 */
export function weightedPercentile(samples: readonly WeightedSample[], q: number): number | null {
  const ranked = samples.filter((s) => s.weight > 0).sort((a, b) => a.value - b.value);
  const total = ranked.reduce((sum, s) => sum + s.weight, 0);
  if (ranked.length === 0 || total <= 0) return null;
  const target = q * total;
  let cumulative = 0;
  for (const sample of ranked) {
    cumulative += sample.weight;
    // A hair of tolerance: weights such as 10/3 must not miss an exact rank by rounding.
    if (cumulative >= target - 1e-9 * total) return sample.value;
  }
  return ranked[ranked.length - 1]!.value;
}

/** The first minute of a window of `minutes` ending with the current (partial) minute. */
export function oldestMinute(now: number, minutes: number): number {
  return minuteOf(now) - (minutes - 1);
}

/** See TrafficSummary.windowMinutes. */
export function coveredMinutes(coveredSince: number | null, now: number): number {
  if (coveredSince === null) return 0;
  const first = Math.max(minuteOf(coveredSince), oldestMinute(now, TRAFFIC_WINDOW_MINUTES));
  return Math.max(1, minuteOf(now) - first + 1);
}

export function ratio(part: number, whole: number): number | null {
  return whole > 0 ? round(part / whole, 4) : null;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function earliest(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

function isChannel(value: string): value is Channel {
  return KNOWN_CHANNELS.has(value);
}

function channelCounts(bucket: MinuteBucket, channel: Channel): ChannelCounts {
  let counts = bucket.channels.get(channel);
  if (!counts) {
    counts = { requested: 0, failed: 0, outcomes: 0 };
    bucket.channels.set(channel, counts);
  }
  return counts;
}

function providerCounts(bucket: MinuteBucket, provider: string): ProviderCounts {
  let counts = bucket.providers.get(provider);
  if (!counts) {
    counts = { calls: 0, failed: 0, firstFailedAt: null };
    bucket.providers.set(provider, counts);
  }
  return counts;
}
