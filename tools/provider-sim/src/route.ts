import { type IncomingHttpHeaders } from 'node:http';
import { type Named } from './engine/recipients';
import { type StatusScript } from './engine/status-scripts';

/**
 * The contract between the shared engine (engine/: scripting, latency, attempts,
 * recording) and one simulated provider API (providers/*.ts: paths, recipients, auth, answers).
 */

export interface SimResponse {
  status: number;
  headers?: Record<string, string>;
  /** Serialised as JSON; omitted for statuses that carry no body. */
  body?: unknown;
}

/** Why the simulator answers with an error instead of the provider's success. */
export interface ErrorDetail {
  /** The simulator's label: simulated_failure, rate_limited, invalid_script, invalid_latency… */
  code: string;
  message: string;
  /**
   * True when a script asked for this status: the provider answers with its canonical error for
   * the status. False for the simulator's own complaints, whose message is the point.
   */
  scripted: boolean;
  /** Set for retry-after scripts; the engine adds Retry-After, providers may add more. */
  retryAfterSeconds?: number;
}

/** How a receiver request's signature fared against each of the receiver's registered secrets. */
export interface SignatureCheck {
  /** True when at least one registered secret verified the request. */
  verified: boolean;
  /** bySecret[i]: whether the i-th registered secret verified it; empty when none is registered. */
  bySecret: boolean[];
}

/** What a route's verify() found before the request's script ran. */
export interface Verification {
  /** The answer instead of the script's; undefined lets the request through to its script. */
  refusal?: SimResponse;
  /** Recorded with the request whether it was let through or not. */
  signature?: SignatureCheck;
}

/** What a route sees of a request once its body has been read. */
export interface RequestInput {
  path: string;
  query: URLSearchParams;
  method: string;
  headers: IncomingHttpHeaders;
  /** utf-8, cut at the engine's parse limit: enough for any request a route inspects. */
  body: string;
  bodyBytes: number;
  receivedAt: number;
  /** The body as JSON, undefined when it is not JSON. Parsed once, on first use. */
  json(): unknown;
  /** The body as application/x-www-form-urlencoded. Parsed once, on first use. */
  form(): URLSearchParams;
}

export interface ProviderRequest extends RequestInput {
  /** Who the request is for, as recipientOf found it. */
  recipient: string | undefined;
  /** 1-based count of this route's requests for this recipient since the last reset. */
  attempt: number;
  /** What later status lookups should report for a message accepted by this request. */
  statusScript: Named<StatusScript>;
}

/**
 * One simulated provider endpoint. Every route shares scripting, latency and recording; a
 * route only says which paths it owns, who a request is for, and what its answers look like.
 */
export interface ProviderRoute {
  /** Also the namespace of the attempt counters, e.g. `twilio.send`. */
  name: string;
  methods: readonly string[];
  /**
   * undefined when the path is not this route's; otherwise the script the path names, or
   * undefined for routes whose paths carry none.
   */
  match(path: string): { script: string | undefined } | undefined;
  /**
   * `send` (the default) runs the recipient's registered or inline send script; `check` is a
   * status lookup and runs the registered `check` script, counted separately.
   */
  kind?: 'send' | 'check';
  /**
   * The recipient (email, phone number, channel, device token, or for status lookups the
   * looked-up message's recipient). Without it, attempts are counted per path.
   */
  recipientOf?(request: RequestInput): string | undefined;
  /**
   * Checked before the script runs (authorize, by contrast, only once the script lets the
   * request through, like a provider behind a load balancer). A refused request is answered
   * with the refusal and recorded with attempt 0: it neither runs nor advances the script, so a
   * badly signed delivery does not use up a `fail-503-2`. Routes with it count attempts per
   * path (or recipient) themselves, only for requests let through.
   */
  verify?(request: RequestInput): Verification;
  /** The provider's auth error, or undefined when the credentials would be accepted. */
  authorize?(request: ProviderRequest): SimResponse | undefined;
  success(request: ProviderRequest): SimResponse;
  /** An error in the provider's own format, with its canonical code for the status. */
  error(status: number, detail: ErrorDetail, request?: ProviderRequest): SimResponse;
  /** The provider's named error for `error-<code>-<n>`; without it the code must be a status. */
  namedError?(code: string, request: ProviderRequest): SimResponse;
}

export function createRequestInput(fields: Omit<RequestInput, 'json' | 'form'>): RequestInput {
  let json: { value: unknown } | undefined;
  let form: URLSearchParams | undefined;
  return {
    ...fields,
    json: () => {
      if (!json) {
        try {
          json = { value: fields.body === '' ? undefined : (JSON.parse(fields.body) as unknown) };
        } catch {
          json = { value: undefined };
        }
      }
      return json.value;
    },
    form: () => (form ??= new URLSearchParams(fields.body)),
  };
}

export interface RecordedRequest {
  path: string;
  /** HTTP method, or 'SMTP' for SMTP deliveries. */
  method: string;
  /** ms since the epoch, taken when the request arrived (before its body was read). */
  receivedAt: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** utf-8, cut at BODY_RECORD_LIMIT bytes. */
  body: string;
  bodyBytes: number;
  /**
   * 1-based count of requests for this recipient on this route (webhooks and receivers: on this
   * path) since the last reset; 0 when the client went away before the recipient could be read,
   * and for receiver requests whose signature did not verify (they never reach the script).
   */
  attempt: number;
  /** Who the request was for (email, phone number, channel, device token); null if none. */
  recipient: string | null;
  /** The script that applied (X-Sim-Script, then registered, then inline, then the path). */
  script: string;
  /** The HTTP status (SMTP reply code) as a string, or 'reset', 'hang', 'aborted'. */
  outcome: string;
  /**
   * Receivers (`/receivers/<script>/<name>`) only: the Standard Webhooks signature checked
   * against each secret registered for the receiver, so a test can tell which secret signed a
   * delivery (e.g. during a rotation). Undefined for every other route.
   */
  signature?: SignatureCheck;
}
