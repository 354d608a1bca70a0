import type { ApiEvent, ApiLog } from '@herald/read-model';
import type { ApiWebhookAttempt } from '@herald/webhooks';

// What the pages show, computed from the read API's shapes (the same ones GET /v1/messages/…
// answers with), as pure functions: the templates only print.

/** Bodies longer than this are shown cut, with how much was left out. */
const MAX_SHOWN_BODY = 64 * 1024;

/**
 * A body as the Logs tab shows it: JSON parsed and re-serialised with indentation (the
 * template escapes the result), anything else as stored. Stored bodies are already redacted
 * and bounded by the call layer; this only makes them readable.
 */
export function prettyBody(body: string | null): string {
  if (body === null || body === '') return '';
  let shown = body;
  const trimmed = body.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      shown = JSON.stringify(JSON.parse(trimmed), null, 2);
    } catch {
      // Not JSON after all (or cut by the bounded read): shown as it came.
    }
  }
  if (shown.length <= MAX_SHOWN_BODY) return shown;
  return `${shown.slice(0, MAX_SHOWN_BODY)}\n… (${shown.length - MAX_SHOWN_BODY} more characters)`;
}

/** Headers one per line, `name: value`, in the order stored. */
export function headerLines(headers: Record<string, string>): string {
  return Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}`)
    .join('\n');
}

/** A duration for people: 850 ms, 4.2 s, 3 min 5 s, 2 h 10 min. */
export function humanDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes} min ${Math.round((ms % 60_000) / 1_000)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export interface TimelineEntry extends ApiEvent {
  /** How long after the previous event this one happened ('' for the first). */
  wait: string;
}

/** The timeline with the wait before each event (Courier's "waited 30s before retrying"). */
export function timelineWithWaits(events: readonly ApiEvent[]): TimelineEntry[] {
  return events.map((event, i) => {
    const previous = i > 0 ? events[i - 1]!.occurredAt : null;
    const wait =
      previous && event.occurredAt
        ? humanDuration(Date.parse(event.occurredAt) - Date.parse(previous))
        : '';
    return { ...event, wait };
  });
}

export interface ProviderCallView {
  seq: number;
  attempt: number;
  provider: string | null;
  occurredAt: string | null;
  method: string;
  url: string;
  requestHeaders: string;
  requestBody: string;
  /** The response's status, or what happened instead ('no response'). */
  responseStatus: string;
  responseClass: 'ok' | 'failed' | 'none';
  responseHeaders: string;
  responseBody: string;
  duration: string;
  error: string | null;
}

/** One provider call of the Logs tab. */
export function providerCallView(log: ApiLog): ProviderCallView {
  const status = log.response?.status ?? null;
  return {
    seq: log.seq,
    attempt: log.attempt,
    provider: log.provider,
    occurredAt: log.occurredAt,
    method: log.request.method,
    url: log.request.url,
    requestHeaders: headerLines(log.request.headers),
    requestBody: prettyBody(log.request.body),
    responseStatus: status === null ? 'no response' : String(status),
    responseClass: status === null ? 'none' : status < 400 ? 'ok' : 'failed',
    responseHeaders: log.response ? headerLines(log.response.headers) : '',
    responseBody: prettyBody(log.response?.body ?? null),
    duration: humanDuration(log.durationMs),
    error: log.error ? `${log.error.code}: ${log.error.message}` : null,
  };
}

/**
 * One attempt of a webhook delivery, shown like a provider call. Every attempt of a delivery
 * sends the body the delivery was created with, so that is its request body.
 */
export function webhookAttemptView(
  attempt: ApiWebhookAttempt,
  payload: string | null,
): ProviderCallView {
  const status = attempt.response?.status ?? null;
  return {
    seq: attempt.seq,
    attempt: attempt.attempt,
    provider: null,
    occurredAt: attempt.occurredAt,
    method: attempt.request?.method ?? 'POST',
    url: attempt.request?.url ?? '',
    requestHeaders: attempt.request ? headerLines(attempt.request.headers) : '',
    requestBody: prettyBody(payload),
    responseStatus: status === null ? 'no response' : String(status),
    responseClass: status === null ? 'none' : status < 300 ? 'ok' : 'failed',
    responseHeaders: attempt.response ? headerLines(attempt.response.headers) : '',
    responseBody: prettyBody(attempt.response?.body ?? null),
    duration: attempt.durationMs === null ? '' : humanDuration(attempt.durationMs),
    error: attempt.error ? `${attempt.error.code}: ${attempt.error.message}` : null,
  };
}

/** A query string of the non-empty filters, for links that keep them (next page, refresh). */
export function queryString(values: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined && value !== '') params.set(name, value);
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}
