/**
 * Retries wait in delay topics, one per back-off tier. A tier holds each record for its hold
 * time after the record was appended, less a fixed allowance for the hop that follows, then
 * passes it on. Because a partition's append times only grow, release times (append + hold −
 * allowance) only grow too: a tier's consumer waits on the head record and nothing behind it is
 * ever due earlier. So there is no head-of-line blocking and no busy polling.
 *
 * A record enters the largest tier whose hold fits in the time it still has to wait, so it is
 * never released after it is due; on release it hops to the next smaller tier that fits, and
 * finally to the work topic, where the last remainder (under 250 ms) is waited out in memory.
 * The 250 ms tier keeps that remainder short: a work partition waits on its head record, so a
 * longer remainder would hold up records behind it that are due sooner (the bench measured
 * retries up to 1 s late with 1 s as the smallest tier).
 */

export interface DelayTier {
  /** Suffix of the tier's topic name, e.g. `herald.deliveries.delay.30s`. */
  label: string;
  holdMs: number;
}

export const DELAY_TIERS: readonly DelayTier[] = [
  { label: '250ms', holdMs: 250 },
  { label: '1s', holdMs: 1_000 },
  { label: '5s', holdMs: 5_000 },
  { label: '30s', holdMs: 30_000 },
  { label: '2m', holdMs: 120_000 },
  { label: '10m', holdMs: 600_000 },
  { label: '1h', holdMs: 3_600_000 },
];

/**
 * How early a record may reach the work topic, whose consumer waits out the rest in memory:
 * anything due within the smallest hold goes there rather than to a tier.
 */
export const WORK_WINDOW_MS = Math.min(...DELAY_TIERS.map((tier) => tier.holdMs));

/** Where a record that is due at `dueAt` should go now: a tier, or straight to the work topic. */
export function routeFor(
  dueAt: number,
  now: number,
  tiers: readonly DelayTier[] = DELAY_TIERS,
): DelayTier | 'work' {
  const remaining = dueAt - now;
  let chosen: DelayTier | undefined;
  for (const tier of tiers) {
    if (tier.holdMs <= remaining && (!chosen || tier.holdMs > chosen.holdMs)) chosen = tier;
  }
  return chosen ?? 'work';
}

/**
 * How long before its hold ends (or it is due) a tier lets a record go: about what the hop to the
 * next topic takes (a transaction, then a fetch), so the record arrives on time rather than
 * that much late. Retries fired ~200 ms late at p99 without it. The same for every record, so
 * release order stays append order; and under the smallest hold, so no tier is a pass-through.
 * The work topic's consumer waits out whatever is left, so nothing fires early.
 */
export const HOP_ALLOWANCE_MS = 150;

/** When a tier lets a record go: its hold after the append or its due time, less the hop. */
export function releaseAt(appendedAt: number, dueAt: number, tier: DelayTier): number {
  return Math.min(appendedAt + tier.holdMs, dueAt) - HOP_ALLOWANCE_MS;
}

export function tierTopic(workTopic: string, tier: DelayTier): string {
  return `${workTopic}.delay.${tier.label}`;
}

/** Kafka header carrying a record's due time, so tiers can route bytes without decoding them. */
export const DUE_AT_HEADER = 'herald-due-at';

export function encodeDueAt(dueAt: number): string {
  return String(Math.round(dueAt));
}

export function decodeDueAt(value: Buffer | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value.toString());
  return Number.isFinite(parsed) ? parsed : undefined;
}
