import http2, { type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { classifyHttpResponse, classifyTransportError } from '@herald/error-classification';
import type { DeliveryError, ProviderExchange } from '@herald/messages';
import { redactExchange, redactKnownSecrets } from '@herald/redaction';
import type { HttpCall, HttpCallOptions, HttpOutcome, HttpResponse } from './http-call';
import { BoundedBody } from './bounded-read';
import { checkDestination, guardedLookup } from './network-guard';

/**
 * Node's HTTP/2 failures that mean the connection or stream broke (a peer RST_STREAM or
 * GOAWAY, a session torn down under the request), not that Herald did something wrong.
 */
export const HTTP2_NETWORK_ERROR_CODES: readonly string[] = [
  'ERR_HTTP2_STREAM_ERROR',
  'ERR_HTTP2_STREAM_CANCEL',
  'ERR_HTTP2_SESSION_ERROR',
  'ERR_HTTP2_GOAWAY_SESSION',
  'ERR_HTTP2_INVALID_SESSION',
  'ERR_HTTP2_ERROR',
];

/**
 * One HTTP/2 session per origin, as APNs asks: it expects few long-lived connections and may
 * treat rapid reconnects as a denial-of-service attack. A session that closed, failed or got a
 * GOAWAY is forgotten, so the next request dials a fresh one.
 */
export class Http2Sessions {
  private readonly sessions = new Map<string, ClientHttp2Session>();

  get(origin: string): ClientHttp2Session {
    const existing = this.sessions.get(origin);
    if (existing && !existing.closed && !existing.destroyed) return existing;

    // Names resolve through the network guard, like the HTTP/1.1 pool's.
    const session = http2.connect(origin, { lookup: guardedLookup });
    const forget = () => {
      if (this.sessions.get(origin) === session) this.sessions.delete(origin);
    };
    // Without an 'error' listener a refused connection would crash the process; the streams
    // on the session get the error themselves.
    session.on('error', forget);
    session.on('goaway', forget);
    session.on('close', forget);
    // An idle pooled session must not keep a finished process alive; an in-flight request is
    // held open by its own timeout timer.
    session.unref();
    this.sessions.set(origin, session);
    return session;
  }

  /** Lets in-flight streams finish (each is bounded by its timeout) and closes every session. */
  async close(): Promise<void> {
    const open = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(
      open.map(
        (session) =>
          new Promise<void>((resolve) => {
            if (session.closed || session.destroyed) resolve();
            else session.close(() => resolve());
          }),
      ),
    );
  }
}

/**
 * The HTTP/2 twin of callProvider: one request on the origin's shared session, the whole
 * exchange bounded by `timeoutMs`, the log redacted and the outcome classified the same way.
 */
export async function callHttp2(
  sessions: Http2Sessions,
  call: HttpCall,
  options: HttpCallOptions,
): Promise<HttpOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const log = (response: ProviderExchange['response']): ProviderExchange =>
    redactExchange({ request: { ...call }, response, durationMs: elapsed() }, options.secrets);
  try {
    checkDestination(call.url); // an address in the URL; names are checked as they resolve
    const response = await exchange(sessions, call, options.timeoutMs);
    const exchangeLog = log(response);
    const verdict =
      options.classify?.(response) ??
      classifyHttpResponse(response.status, response.headers, {
        now: Date.now(),
        extraRetryableStatuses: options.extraRetryableStatuses,
      });
    if (verdict.ok) return { ok: true, ...response, log: exchangeLog };
    return {
      ok: false,
      error: verdict.error,
      retryAfterMs: verdict.retryAfterMs,
      log: exchangeLog,
    };
  } catch (error) {
    const classified = classifyHttp2Error(error);
    const message = redactKnownSecrets(classified.message, options.secrets);
    return { ok: false, error: { ...classified, message }, log: log(null) };
  }
}

/** classifyTransportError, plus Node's HTTP/2 stream and session failures as network errors. */
export function classifyHttp2Error(error: unknown): DeliveryError {
  const classified = classifyTransportError(error);
  if (classified.category !== 'internal') return classified;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && HTTP2_NETWORK_ERROR_CODES.includes(code)) {
    return { category: 'network', code, message: classified.message };
  }
  return classified;
}

function exchange(sessions: Http2Sessions, call: HttpCall, timeoutMs: number) {
  return new Promise<HttpResponse>((resolve, reject) => {
    const url = new URL(call.url);
    const session = sessions.get(url.origin);
    const stream = session.request({
      ':method': call.method,
      ':path': `${url.pathname}${url.search}`,
      ...call.headers,
    });
    let settled = false;
    const settle = (finish: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      finish();
    };
    const timer = setTimeout(() => {
      settle(() => reject(timeoutError(timeoutMs)));
      // CANCEL tells the server we gave up, rather than reporting an error of our own.
      stream.close(http2.constants.NGHTTP2_CANCEL);
      // A session still dialling after a whole timeout is likely black-holed: start afresh.
      if (session.connecting) session.destroy();
    }, timeoutMs);

    let status = 0;
    let headers: Record<string, string> = {};
    const body = new BoundedBody();
    const answered = () => settle(() => resolve({ status, headers, body: body.text() }));
    stream.on('response', (received) => {
      status = Number(received[':status']);
      headers = flattenHeaders(received);
    });
    stream.on('data', (chunk: Buffer) => {
      if (body.full || body.add(chunk)) return;
      // Enough to log and classify: the answer is complete for us, and the rest is refused.
      answered();
      stream.close(http2.constants.NGHTTP2_CANCEL);
    });
    stream.on('end', answered);
    stream.on('error', (error) => settle(() => reject(error)));
    // A stream reset with NO_ERROR closes without 'end' or 'error'.
    stream.on('close', () =>
      settle(() =>
        reject(
          Object.assign(new Error('stream closed before the response ended'), {
            code: 'ERR_HTTP2_STREAM_ERROR',
          }),
        ),
      ),
    );
    stream.end(call.body ?? undefined);
  });
}

/** Named like the DOMException AbortSignal.timeout() raises, so it classifies as `timeout`. */
function timeoutError(timeoutMs: number): Error {
  const error = new Error(`no complete response within ${timeoutMs} ms`);
  error.name = 'TimeoutError';
  return error;
}

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    // Pseudo-headers (:status) are not headers of the provider's answer.
    if (name.startsWith(':') || value === undefined) continue;
    flat[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return flat;
}
