import { type IncomingHttpHeaders } from 'node:http';
import {
  createRequestInput,
  type ProviderRequest,
  type ProviderRoute,
  type RecordedRequest,
  type RequestInput,
  type SimResponse,
} from '../route';
import {
  decide,
  MAX_SCRIPT_STATUS,
  MIN_SCRIPT_STATUS,
  outcomeOf,
  parseLatency,
  type Decision,
  type Script,
} from './scripts';
import { type Named, type RecipientRegistry } from './recipients';
import { type Recordings } from './recordings';
import { inlineOf, NO_INLINE, sendScriptFor, statusScriptFor } from './script-choice';

/**
 * One provider request through the engine, in the two steps a listener sees: its arrival
 * (counted at once, before the body is read) and then either its body (scripted, recorded and
 * answered) or the client going away first (recorded as aborted).
 */

export const BODY_RECORD_LIMIT = 4096;
// Routes read recipients out of bodies; an HTML email can be far larger than what is recorded.
export const BODY_PARSE_LIMIT = 256 * 1024;

/** A provider request as a listener hands it over, before its body is read. */
export interface Arrival {
  route: ProviderRoute;
  /** The script the path names, for routes whose paths carry one. */
  pathScript: string | undefined;
  path: string;
  query: URLSearchParams;
  method: string;
  headers: IncomingHttpHeaders;
  receivedAt: number;
}

/** What the listener does with the exchange; the engine has recorded it already. */
export type Verdict =
  | { action: 'respond'; response: SimResponse; delayMs: number }
  /** Drop the exchange without an answer: a TCP reset, or RST_STREAM on HTTP/2. */
  | { action: 'reset'; delayMs: number }
  /** Never answer: the exchange stays open until the client gives up or the simulator closes. */
  | { action: 'hang' };

/** What an exchange needs of the engine's state. */
export interface ExchangeContext {
  recordings: Recordings;
  registry: RecipientRegistry;
  /** Delay before every answer unless the request overrides it. */
  latencyMs: number;
}

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    // HTTP/2 pseudo-headers (:path, :method…) are the request line, not headers.
    if (value !== undefined && !name.startsWith(':')) {
      flat[name] = Array.isArray(value) ? value.join(', ') : value;
    }
  }
  return flat;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function recordedBody(raw: Buffer): string {
  return raw.subarray(0, BODY_RECORD_LIMIT).toString('utf8');
}

/** `error-<code>-<n>` on a route without named errors: a numeric code is a status. */
function fallbackNamedError(route: ProviderRoute, code: string, request: ProviderRequest) {
  const status = /^\d{3}$/.test(code) ? Number(code) : undefined;
  const known = status !== undefined && status >= MIN_SCRIPT_STATUS && status <= MAX_SCRIPT_STATUS;
  return route.error(
    known ? status : 400,
    { code, message: `simulated error ${code}`, scripted: true },
    request,
  );
}

/** The per-request latency override (header first, then query), or the simulator's own. */
function latencyOf(
  headers: IncomingHttpHeaders,
  query: URLSearchParams,
  fallbackMs: number,
): { ok: true; ms: number } | { ok: false; error: string } {
  const fromHeader = parseLatency(firstHeader(headers['x-sim-latency-ms']), 'X-Sim-Latency-Ms');
  const fromQuery = parseLatency(query.get('latency'), 'latency');
  if (!fromHeader.ok) return fromHeader;
  if (!fromQuery.ok) return fromQuery;
  return { ok: true, ms: fromHeader.ms ?? fromQuery.ms ?? fallbackMs };
}

/** The route's answer to a scripted decision, held back by `delayMs`. */
function verdictFor(
  route: ProviderRoute,
  decision: Decision,
  script: Named<Script>,
  request: ProviderRequest,
  delayMs: number,
): Verdict {
  const respond = (response: SimResponse): Verdict => ({ action: 'respond', response, delayMs });
  switch (decision.action) {
    case 'succeed':
      // Scripted faults come first, like a load balancer's; auth only once the request
      // would reach the provider itself.
      return respond(route.authorize?.(request) ?? route.success(request));
    case 'named-error':
      return respond(
        route.namedError
          ? route.namedError(decision.code, request)
          : fallbackNamedError(route, decision.code, request),
      );
    case 'error': {
      const retryAfter = decision.retryAfterSeconds;
      const base = route.error(
        decision.status,
        {
          code: retryAfter === undefined ? 'simulated_failure' : 'rate_limited',
          message: `simulated ${decision.status} from script ${script.name} (attempt ${request.attempt})`,
          scripted: true,
          retryAfterSeconds: retryAfter,
        },
        request,
      );
      return respond(
        retryAfter === undefined
          ? base
          : { ...base, headers: { ...base.headers, 'retry-after': String(retryAfter) } },
      );
    }
    case 'reset':
      return { action: 'reset', delayMs };
    case 'hang':
      return { action: 'hang' };
  }
}

export class ProviderExchange {
  private readonly pathAttempt: number;

  constructor(
    private readonly context: ExchangeContext,
    private readonly arrival: Arrival,
  ) {
    // Every route's entry in the per-path stats; the webhook's attempt too.
    this.pathAttempt = context.recordings.arrive(arrival.path);
  }

  /**
   * Providers count per (route, recipient), and so do routes that verify requests (per path
   * when they have no recipient), counting only what they let through. The rest (webhooks)
   * count every arrival per path.
   */
  private get countsOwnAttempts(): boolean {
    const { route } = this.arrival;
    return route.recipientOf !== undefined || route.verify !== undefined;
  }

  /** The script's 1-based attempt for this request; 0 when the route refused it. */
  private attemptOf(
    kind: 'send' | 'check',
    recipient: string | undefined,
    refused: boolean,
  ): number {
    if (refused) return 0;
    if (!this.countsOwnAttempts) return this.pathAttempt;
    const { route, path } = this.arrival;
    return this.context.recordings.attempt(kind, `${route.name} ${recipient ?? path}`);
  }

  private inputOf(body: Buffer, bodyBytes: number): RequestInput {
    const { path, query, method, headers, receivedAt } = this.arrival;
    return createRequestInput({
      path,
      query,
      method,
      headers,
      body: body.toString('utf8'),
      bodyBytes,
      receivedAt,
    });
  }

  /** The client went away before its body was complete: no answer, just the recording. */
  abandon(body: Buffer, bodyBytes: number): void {
    const { route, headers, pathScript } = this.arrival;
    this.record(body, bodyBytes, {
      attempt: this.countsOwnAttempts ? 0 : this.pathAttempt,
      recipient: null,
      script: firstHeader(headers['x-sim-script']) ?? pathScript ?? 'ok',
      outcome: 'aborted',
      // A partial body cannot verify, but a receiver's recordings always say how it fared.
      signature: route.verify?.(this.inputOf(body, bodyBytes)).signature,
    });
  }

  private record(
    body: Buffer,
    bodyBytes: number,
    fields: Pick<RecordedRequest, 'attempt' | 'recipient' | 'script' | 'outcome' | 'signature'>,
  ): void {
    const { recordings } = this.context;
    // Flattening the headers and decoding the body are most of a recording's cost.
    if (!recordings.keeps) return;
    const { path, method, receivedAt, headers } = this.arrival;
    const { signature, ...outcome } = fields;
    const recorded: RecordedRequest = {
      path,
      method,
      receivedAt,
      headers: flattenHeaders(headers),
      body: recordedBody(body),
      bodyBytes,
      ...outcome,
    };
    // Only receivers' recordings have the key at all.
    if (signature !== undefined) recorded.signature = signature;
    recordings.record(recorded);
  }

  /** Scripts, records and answers the request once its body (up to BODY_PARSE_LIMIT) is in. */
  complete(body: Buffer, bodyBytes: number): Verdict {
    const { route, pathScript, query, headers } = this.arrival;
    const { registry } = this.context;
    const input = this.inputOf(body, bodyBytes);
    const recipient = route.recipientOf?.(input);
    const kind = route.kind ?? 'send';
    // Before counting: a request the route refuses must not use up a step of its script.
    const verification = route.verify?.(input);
    const refusal = verification?.refusal;
    const attempt = this.attemptOf(kind, recipient, refusal !== undefined);
    const inline = kind === 'send' ? inlineOf(recipient) : NO_INLINE;
    const override = firstHeader(headers['x-sim-script']);
    const script = sendScriptFor(
      registry,
      kind,
      recipient,
      inline,
      override,
      pathScript,
      route.name,
    );
    const request: ProviderRequest = {
      ...input,
      recipient,
      attempt,
      statusScript: statusScriptFor(registry, recipient, inline),
    };
    const recordAs = (outcome: string): void =>
      this.record(body, bodyBytes, {
        attempt,
        recipient: recipient ?? null,
        script: script.name,
        outcome,
        signature: verification?.signature,
      });
    // The simulator's own complaints are answered at once: the test is wrong, not the provider.
    const complain = (code: string, message: string): Verdict => {
      recordAs('400');
      const response = route.error(400, { code, message, scripted: false });
      return { action: 'respond', response, delayMs: 0 };
    };

    if ('error' in script) return complain('invalid_script', script.error);
    const latency = latencyOf(headers, query, this.context.latencyMs);
    if (!latency.ok) return complain('invalid_latency', latency.error);
    if (refusal !== undefined) {
      recordAs(String(refusal.status));
      return { action: 'respond', response: refusal, delayMs: latency.ms };
    }

    const decision = decide(script.script, attempt);
    const verdict = verdictFor(route, decision, script, request, latency.ms);
    recordAs(verdict.action === 'respond' ? String(verdict.response.status) : outcomeOf(decision));
    return verdict;
  }
}
