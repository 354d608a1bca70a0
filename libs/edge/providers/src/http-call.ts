import { Agent, request } from 'undici';
import {
  classifyHttpResponse,
  classifyTransportError,
  type HttpClassification,
} from '@herald/error-classification';
import type { ProviderExchange } from '@herald/messages';
import { redactExchange, redactKnownSecrets } from '@herald/redaction';
import type { Failure } from '@herald/decisions';
import { readBounded } from './bounded-read';
import { checkDestination, guardedLookup } from './network-guard';

export interface HttpCall {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | null;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface HttpCallOptions {
  timeoutMs: number;
  /** Credentials this provider was configured with: removed from the log wherever they appear. */
  secrets: readonly string[];
  extraRetryableStatuses?: number[];
  /**
   * The provider's own reading of an answer (an error code in the body, `ok:false` in a 200…).
   * Null falls back to the generic HTTP-status classification.
   */
  classify?: (response: HttpResponse) => HttpClassification | null;
}

export type HttpOutcome =
  | {
      ok: true;
      status: number;
      headers: Record<string, string>;
      body: string;
      log: ProviderExchange;
    }
  | Failure;

/**
 * Keep-alive connections shared by every adapter: providers are called at high rates. Every
 * connection resolves its host through the network guard.
 */
const agent = new Agent({
  keepAliveTimeout: 30_000,
  connections: 512,
  pipelining: 1,
  connect: { lookup: guardedLookup },
});

/**
 * Makes one provider call and returns its redacted exchange with the outcome classified.
 * The whole call (connect, headers and body) is bounded by `timeoutMs`.
 */
export async function callProvider(call: HttpCall, options: HttpCallOptions): Promise<HttpOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const log = (response: ProviderExchange['response']): ProviderExchange =>
    redactExchange({ request: { ...call }, response, durationMs: elapsed() }, options.secrets);
  try {
    checkDestination(call.url); // an address in the URL; names are checked as they resolve
    const response = await request(call.url, {
      method: call.method as 'POST',
      headers: call.headers,
      body: call.body ?? undefined,
      dispatcher: agent,
      signal: AbortSignal.timeout(options.timeoutMs),
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
    // Read only what can be logged and classified (bounded-read.ts), never a whole huge answer.
    const body = await readBounded(response.body);
    const headers = flattenHeaders(response.headers);
    const exchange = log({ status: response.statusCode, headers, body });
    const verdict =
      options.classify?.({ status: response.statusCode, headers, body }) ??
      classifyHttpResponse(response.statusCode, headers, {
        now: Date.now(),
        extraRetryableStatuses: options.extraRetryableStatuses,
      });
    if (verdict.ok) return { ok: true, status: response.statusCode, headers, body, log: exchange };
    // A provider's error text may quote what it was sent, credentials included.
    const error = {
      ...verdict.error,
      message: redactKnownSecrets(verdict.error.message, options.secrets),
    };
    return { ok: false, error, retryAfterMs: verdict.retryAfterMs, log: exchange };
  } catch (error) {
    // Error texts can quote what was sent; they go into events like the rest of the exchange.
    const classified = classifyTransportError(error);
    const message = redactKnownSecrets(classified.message, options.secrets);
    return { ok: false, error: { ...classified, message }, log: log(null) };
  }
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>) {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}
