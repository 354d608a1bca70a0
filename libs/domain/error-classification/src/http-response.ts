import statuses from 'statuses';
import { type DeliveryError } from '@herald/messages';
import { parseRetryAfter } from './retry-after';

/**
 * Statuses after which the same request may well succeed later (CONTRACT.md "Sending and
 * retries"): timeout, too early, rate limited, and the transient 5xx family. 501 and 505 are
 * left out on purpose: they describe what the server will never support.
 */
export const RETRYABLE_HTTP_STATUSES: readonly number[] = [408, 425, 429, 500, 502, 503, 504];

export interface ClassifyHttpOptions {
  /** A provider's documented additional retryable statuses (e.g. a vendor-specific 5xx). */
  extraRetryableStatuses?: readonly number[];
  /** The clock for an HTTP-date `Retry-After` (the domain has none of its own). */
  now: number;
}

export type HttpClassification =
  { ok: true } | { ok: false; error: DeliveryError; retryAfterMs?: number };

export type ResponseHeaders = Record<string, string | readonly string[] | number | undefined>;

/**
 * Classifies a provider's HTTP answer: 2xx succeeds; a retryable status is 'retryable'; every
 * other status (including 1xx/3xx, which Herald neither expects nor follows) is
 * 'non_retryable'. `retryAfterMs` comes with any failure carrying a parseable `Retry-After`;
 * honouring it for a non-retryable failure is the caller's decision.
 */
export function classifyHttpResponse(
  status: number,
  headers: ResponseHeaders,
  options: ClassifyHttpOptions,
): HttpClassification {
  if (status >= 200 && status <= 299) return { ok: true };

  const retryable =
    RETRYABLE_HTTP_STATUSES.includes(status) ||
    (options.extraRetryableStatuses ?? []).includes(status);
  const error: DeliveryError = {
    category: retryable ? 'retryable' : 'non_retryable',
    code: `http_${status}`,
    message: httpStatusText(status),
  };
  const retryAfterMs = parseRetryAfter(headerValue(headers, 'retry-after'), options.now);
  return retryAfterMs === undefined ? { ok: false, error } : { ok: false, error, retryAfterMs };
}

/** "503 Service Unavailable"; "599 HTTP error" for a status with no registered name. */
export function httpStatusText(status: number): string {
  return `${status} ${statuses.message[status] ?? 'HTTP error'}`;
}

function headerValue(headers: ResponseHeaders, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name || value === undefined) continue;
    if (typeof value === 'number') return String(value);
    if (typeof value === 'string') return value;
    if (value[0] !== undefined) return value[0];
  }
  return undefined;
}
