/**
 * Small numeric and formatting helpers for the benchmark: percentiles over raw samples, and
 * the Markdown table the bench prints and appends to tools/bench/RESULTS.md.
 */

export interface Distribution {
  count: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/**
 * The p-th percentile (0..100) of a sample, by the nearest-rank method: the smallest value
 * with at least p% of the sample at or below it. NaN for an empty sample.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? NaN;
}

export function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    min: sorted[0] ?? NaN,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? NaN,
  };
}

/** 1234.5 → "1,235" */
export function formatInt(value: number): string {
  if (!Number.isFinite(value)) return '—';
  return Math.round(value).toLocaleString('en-US');
}

/** A rate in messages per second. */
export function formatRate(perSecond: number): string {
  return Number.isFinite(perSecond) ? `${formatInt(perSecond)} msg/s` : '—';
}

/** A rate in webhook deliveries per second. */
export function formatDeliveryRate(perSecond: number): string {
  return Number.isFinite(perSecond) ? `${formatInt(perSecond)} deliveries/s` : '—';
}

/** Milliseconds, with one decimal under 10 ms. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  return Math.abs(ms) < 10 ? `${ms.toFixed(1)} ms` : `${formatInt(ms)} ms`;
}

export function formatMb(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / (1024 * 1024)).toFixed(0)} MB` : '—';
}

/** Herald's figure over a baseline's, e.g. "0.72×"; "—" when either is missing. */
export function formatRatio(value: number, baseline: number): string {
  if (!Number.isFinite(value) || !Number.isFinite(baseline) || baseline <= 0) return '—';
  const ratio = value / baseline;
  // Two significant digits below 0.1, so a tiny ratio does not print as 0.00×.
  return `${ratio > 0 && ratio < 0.1 ? ratio.toPrecision(2) : ratio.toFixed(2)}×`;
}

/** A Markdown table, columns padded so it also reads well in a terminal. */
export function markdownTable(headers: readonly string[], rows: readonly string[][]): string {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    `| ${widths.map((width, i) => (cells[i] ?? '').padEnd(width)).join(' | ')} |`;
  return [
    line(headers),
    `| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`,
    ...rows.map(line),
  ].join('\n');
}
