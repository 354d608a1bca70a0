/**
 * Failure scripts: a tiny language that tells the simulator how to answer the k-th request for
 * a recipient (or, for webhooks, on a path). Pure (no I/O, no clock, no randomness) so the
 * grammar and the decisions can be tested without a server, and so every provider shares the
 * same failure modes.
 *
 *   ok                          success
 *   fail-<status>-<n>           the first n requests answer <status>, then success
 *   always-<status>             every request answers <status>
 *   retry-after-<seconds>-<n>   the first n answer 429 with Retry-After: <seconds>, then success
 *   reset-<n>                   the first n get a connection/stream reset and no response
 *   hang-<n>                    the first n are never answered
 *   error-<code>-<n>            the first n get the provider's own named error <code> (a Slack
 *                               error string, FCM errorCode, APNs reason, Twilio code, SMTP code)
 */

export type Script =
  | { kind: 'ok' }
  | { kind: 'fail'; status: number; count: number }
  | { kind: 'always'; status: number }
  | { kind: 'retry-after'; seconds: number; count: number }
  | { kind: 'reset'; count: number }
  | { kind: 'hang'; count: number }
  | { kind: 'error'; code: string; count: number };

export type ParseResult = { ok: true; script: Script } | { ok: false; error: string };

export type Decision =
  | { action: 'succeed' }
  | { action: 'error'; status: number; retryAfterSeconds?: number }
  | { action: 'named-error'; code: string }
  | { action: 'reset' }
  | { action: 'hang' };

/** Statuses a script may ask for: 1xx are not final responses, and 6xx+ are not HTTP. */
export const MIN_SCRIPT_STATUS = 200;
export const MAX_SCRIPT_STATUS = 599;

// Bounded so a typo such as fail-503-99999999999999999999 is reported rather than silently
// turned into an imprecise float.
const MAX_COUNT = 1_000_000_000;
const MAX_RETRY_AFTER_SECONDS = 86_400 * 7;
// Longer than any real provider code; a limit keeps a pasted-in paragraph from becoming one.
const MAX_ERROR_CODE_LENGTH = 64;

/** Latency a request may ask for; an hour is far beyond any client timeout worth testing. */
export const MAX_LATENCY_MS = 3_600_000;

const PATTERNS: ReadonlyArray<{ re: RegExp; build: (m: RegExpExecArray) => ParseResult }> = [
  { re: /^ok$/, build: () => ({ ok: true, script: { kind: 'ok' } }) },
  {
    re: /^fail-(\d+)-(\d+)$/,
    build: (m) =>
      withStatus(m[1], (status) => withCount(m[2], (count) => ({ kind: 'fail', status, count }))),
  },
  {
    re: /^always-(\d+)$/,
    build: (m) => withStatus(m[1], (status) => ({ ok: true, script: { kind: 'always', status } })),
  },
  {
    re: /^retry-after-(\d+)-(\d+)$/,
    build: (m) => {
      const seconds = toInt(m[1]);
      if (seconds === undefined || seconds > MAX_RETRY_AFTER_SECONDS) {
        return { ok: false, error: `Retry-After seconds must be 0..${MAX_RETRY_AFTER_SECONDS}` };
      }
      return withCount(m[2], (count) => ({ kind: 'retry-after', seconds, count }));
    },
  },
  {
    re: /^reset-(\d+)$/,
    build: (m) => withCount(m[1], (count) => ({ kind: 'reset', count })),
  },
  {
    re: /^hang-(\d+)$/,
    build: (m) => withCount(m[1], (count) => ({ kind: 'hang', count })),
  },
  {
    // The code cannot contain '-', so the last '-<digits>' is unambiguously the count.
    re: /^error-([A-Za-z0-9_]+)-(\d+)$/,
    build: (m) => {
      const code = m[1] ?? '';
      if (code.length > MAX_ERROR_CODE_LENGTH) {
        return {
          ok: false,
          error: `error code must be at most ${MAX_ERROR_CODE_LENGTH} characters`,
        };
      }
      return withCount(m[2], (count) => ({ kind: 'error', code, count }));
    },
  },
];

function toInt(digits: string | undefined): number | undefined {
  if (digits === undefined || digits.length > 12) return undefined;
  const value = Number(digits);
  return Number.isSafeInteger(value) ? value : undefined;
}

function withStatus(
  digits: string | undefined,
  build: (status: number) => ParseResult,
): ParseResult {
  const status = toInt(digits);
  if (status === undefined || status < MIN_SCRIPT_STATUS || status > MAX_SCRIPT_STATUS) {
    return {
      ok: false,
      error: `status must be ${MIN_SCRIPT_STATUS}..${MAX_SCRIPT_STATUS}, got ${digits ?? ''}`,
    };
  }
  return build(status);
}

function withCount(digits: string | undefined, build: (count: number) => Script): ParseResult {
  const count = toInt(digits);
  if (count === undefined || count > MAX_COUNT) {
    return { ok: false, error: `request count must be 0..${MAX_COUNT}, got ${digits ?? ''}` };
  }
  return { ok: true, script: build(count) };
}

/** Parses a script name; the error names the script so a typo in a test is obvious. */
export function parseScript(text: string): ParseResult {
  for (const { re, build } of PATTERNS) {
    const match = re.exec(text);
    if (match) {
      const result = build(match);
      return result.ok ? result : { ok: false, error: `invalid script "${text}": ${result.error}` };
    }
  }
  return {
    ok: false,
    error:
      `unknown script "${text}"; expected ok, fail-<status>-<n>, always-<status>, ` +
      'retry-after-<seconds>-<n>, reset-<n>, hang-<n> or error-<code>-<n>',
  };
}

/** What to do with the attempt-th (1-based) request for a recipient running this script. */
export function decide(script: Script, attempt: number): Decision {
  switch (script.kind) {
    case 'ok':
      return { action: 'succeed' };
    case 'always':
      return { action: 'error', status: script.status };
    case 'fail':
      return attempt <= script.count
        ? { action: 'error', status: script.status }
        : { action: 'succeed' };
    case 'retry-after':
      return attempt <= script.count
        ? { action: 'error', status: 429, retryAfterSeconds: script.seconds }
        : { action: 'succeed' };
    case 'reset':
      return attempt <= script.count ? { action: 'reset' } : { action: 'succeed' };
    case 'hang':
      return attempt <= script.count ? { action: 'hang' } : { action: 'succeed' };
    case 'error':
      return attempt <= script.count
        ? { action: 'named-error', code: script.code }
        : { action: 'succeed' };
  }
}

/** The label a recording carries: the HTTP status as a string, or what happened instead. */
export function outcomeOf(decision: Decision, successStatus = 200): string {
  switch (decision.action) {
    case 'succeed':
      return String(successStatus);
    case 'error':
      return String(decision.status);
    case 'named-error':
      // Only a fallback: the recording normally carries the status the provider answered with.
      return decision.code;
    case 'reset':
      return 'reset';
    case 'hang':
      return 'hang';
  }
}

/**
 * The script segment of a webhook path, `/hooks/<script>/<anything...>`; undefined when the
 * path is not under /hooks/ or names no script.
 */
export function hookScriptOf(path: string): string | undefined {
  if (!path.startsWith('/hooks/')) return undefined;
  const rest = path.slice('/hooks/'.length);
  const slash = rest.indexOf('/');
  const segment = slash === -1 ? rest : rest.slice(0, slash);
  return segment === '' ? undefined : segment;
}

export type LatencyResult = { ok: true; ms: number | undefined } | { ok: false; error: string };

/**
 * Reads a per-request latency override. Absent or empty means "no override"; anything else
 * must be a whole number of milliseconds, so a malformed value is reported instead of ignored.
 */
export function parseLatency(value: string | null | undefined, source: string): LatencyResult {
  if (value === null || value === undefined || value.trim() === '') {
    return { ok: true, ms: undefined };
  }
  const trimmed = value.trim();
  const ms = /^\d+$/.test(trimmed) ? toInt(trimmed) : undefined;
  if (ms === undefined || ms > MAX_LATENCY_MS) {
    return {
      ok: false,
      error: `${source} must be a whole number of milliseconds 0..${MAX_LATENCY_MS}, got "${value}"`,
    };
  }
  return { ok: true, ms };
}
