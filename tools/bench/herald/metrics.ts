/**
 * The projector's Prometheus metrics as the bench reads them: the text exposition parsed into
 * samples, the series the measurements poll (events applied, `sent` count) and the summaries
 * they report (request → sent, projection lag).
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

/** A prom-client summary's quantiles, in milliseconds. */
export function summaryMs(metrics: Metrics, name: string): Quantiles {
  const at = (quantile: string): number => sample(metrics, name, { quantile }) * 1000;
  return {
    p50: at('0.5'),
    p95: at('0.95'),
    p99: at('0.99'),
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
