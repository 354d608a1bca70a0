/**
 * Failure scripts: a tiny language that tells the simulator how to answer the k-th request on
 * a path. Pure (no I/O, no clock, no randomness) so the grammar and the decisions can be tested
 * without a server, and so every provider route added later shares the same failure modes.
 *
 *   ok                          200
 *   fail-<status>-<n>           the first n requests answer <status>, then 200
 *   always-<status>             every request answers <status>
 *   retry-after-<seconds>-<n>   the first n answer 429 with Retry-After: <seconds>, then 200
 *   reset-<n>                   the first n get a TCP reset and no response, then 200
 *   hang-<n>                    the first n are never answered, then 200
 */

export type Script =
  | { kind: 'ok' }
  | { kind: 'fail'; status: number; count: number }
  | { kind: 'always'; status: number }
  | { kind: 'retry-after'; seconds: number; count: number }
  | { kind: 'reset'; count: number }
  | { kind: 'hang'; count: number };

export type ParseResult = { ok: true; script: Script } | { ok: false; error: string };

export type Decision =
  | { action: 'succeed' }
  | { action: 'error'; status: number; retryAfterSeconds?: number }
  | { action: 'reset' }
  | { action: 'hang' };

/** Statuses a script may ask for: 1xx are not final responses, and 6xx+ are not HTTP. */
export const MIN_SCRIPT_STATUS = 200;
export const MAX_SCRIPT_STATUS = 599;

// Bounded so a typo such as fail-503-99999999999999999999 is reported rather than silently
// turned into an imprecise float.
const MAX_COUNT = 1_000_000_000;
const MAX_RETRY_AFTER_SECONDS = 86_400 * 7;

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
      'retry-after-<seconds>-<n>, reset-<n> or hang-<n>',
  };
}

/** What to do with the attempt-th (1-based) request on a path running this script. */
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
  }
}

/** The label a recording carries: the HTTP status as a string, or what happened instead. */
export function outcomeOf(decision: Decision, successStatus = 200): string {
  switch (decision.action) {
    case 'succeed':
      return String(successStatus);
    case 'error':
      return String(decision.status);
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
