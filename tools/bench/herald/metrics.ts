/**
 * The projector's Prometheus metrics as the bench reads them: the text exposition parsed into
 * samples, the series the measurements poll (events applied, `sent` count) and the histograms
 * they report quantiles of (request → sent, projection lag).
 */

/** Samples of a Prometheus text exposition, keyed `name{label="value",...}` (labels sorted). */
export type Metrics = Map<string, number>;

export function parsePrometheus(text: string): Metrics {
  const metrics: Metrics = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match?.[1] || match[3] === undefined) continue;
    metrics.set(seriesKey(match[1], parseLabels(match[2] ?? '')), Number(match[3]));
  }
  return metrics;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const match of text.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
    if (match[1] !== undefined) labels[match[1]] = match[2] ?? '';
  }
  return labels;
}

function seriesKey(name: string, labels: Record<string, string> = {}): string {
  const parts = Object.keys(labels)
    .sort()
    .map((key) => `${key}="${labels[key]}"`);
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
}

/** A sample's value, or `fallback` when the series does not exist (yet). */
export function sample(
  metrics: Metrics,
  name: string,
  labels: Record<string, string> = {},
  fallback = NaN,
): number {
  return metrics.get(seriesKey(name, labels)) ?? fallback;
}

export const APPLIED = 'herald_projector_events_applied_total';
export const PROJECTION_LAG = 'herald_projector_projection_lag_seconds';
export const REQUEST_TO_SENT = 'herald_projector_request_to_sent_seconds';

export interface Quantiles {
  p50: number;
  p95: number;
  p99: number;
  count: number;
}

/**
 * A histogram's cumulative buckets (`le` → count) for the series whose other labels are
 * `labels`, in increasing order of `le` (+Inf last).
 */
export function histogramBuckets(
  metrics: Metrics,
  name: string,
  labels: Record<string, string> = {},
): Array<{ le: number; count: number }> {
  const buckets: Array<{ le: number; count: number }> = [];
  const prefix = `${name}_bucket{`;
  for (const [key, count] of metrics) {
    if (!key.startsWith(prefix)) continue;
    const { le, ...others } = parseLabels(key.slice(prefix.length, -1));
    if (le === undefined || seriesKey('', others) !== seriesKey('', labels)) continue;
    buckets.push({ le: le === '+Inf' ? Infinity : Number(le), count });
  }
  return buckets.sort((a, b) => a.le - b.le);
}

/**
 * The q-quantile of cumulative histogram buckets, as Prometheus's histogram_quantile computes
 * it: the bucket holding rank q × count, linearly interpolated between its bounds (the first
 * bucket's lower bound being 0); a rank in the +Inf bucket gives the highest finite bound. NaN
 * with no observations.
 */
export function bucketQuantile(
  q: number,
  buckets: readonly { le: number; count: number }[],
): number {
  const total = buckets[buckets.length - 1]?.count ?? 0;
  if (total === 0 || buckets[buckets.length - 1]?.le !== Infinity) return NaN;
  const rank = q * total;
  let lowerBound = 0;
  let below = 0;
  for (const [i, bucket] of buckets.entries()) {
    if (bucket.count >= rank && bucket.count > below) {
      if (bucket.le === Infinity) return buckets[i - 1]?.le ?? NaN;
      return lowerBound + ((bucket.le - lowerBound) * (rank - below)) / (bucket.count - below);
    }
    lowerBound = bucket.le;
    below = bucket.count;
  }
  return NaN;
}

/** A histogram's p50, p95 and p99 (interpolated within its buckets) in milliseconds. */
export function histogramMs(metrics: Metrics, name: string): Quantiles {
  const buckets = histogramBuckets(metrics, name);
  const at = (q: number): number => bucketQuantile(q, buckets) * 1000;
  return {
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    count: sample(metrics, `${name}_count`),
  };
}

/** Events of every type the projector has applied. */
export function appliedTotal(metrics: Metrics): number {
  let total = 0;
  for (const [key, value] of metrics) if (key.startsWith(`${APPLIED}{`)) total += value;
  return total;
}

export function sentCount(metrics: Metrics): number {
  return sample(metrics, APPLIED, { type: 'sent' }, 0);
}
