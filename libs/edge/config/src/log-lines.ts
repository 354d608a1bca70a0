import { SECRET_KEY_PREFIX } from '@herald/access';
import { isSensitiveBodyKey, REDACTED, redactKnownSecrets, redactUrl } from '@herald/redaction';

/**
 * Herald's log lines: one JSON object per line, the same shape for every service and for
 * kafkajs. Nest's logger (libs/edge/platform/src/logging.ts) and kafkajs's logCreator
 * (libs/edge/kafka) both hand a LogEntry to a LogWriter; here is what turns one into a line,
 * with every string it carries redacted. It lives here, below both, so neither imports the
 * other.
 *
 * A line: {"time","level","service","instance","context","msg","messageId","tenantId",
 * …fields, "err"}; context, the ids, the fields and err only when there are some.
 */

/** Nest's 'log' is `info` here; Nest's 'fatal' is written as `error`. */
export type LogLevelName = 'error' | 'warn' | 'info' | 'debug' | 'verbose';

const SEVERITY: Record<LogLevelName, number> = {
  error: 0,
  warn: 1,
  info: 2,
  debug: 3,
  verbose: 4,
};

/** HERALD_LOG_LEVEL's names (Nest's) to a line's level. */
export function logLevelName(level: 'error' | 'warn' | 'log' | 'debug' | 'verbose'): LogLevelName {
  return level === 'log' ? 'info' : level;
}

/** Whether `level` is written when the most detailed level written is `threshold`. */
export function levelEnabled(level: LogLevelName, threshold: LogLevelName): boolean {
  return SEVERITY[level] <= SEVERITY[threshold];
}

export interface LogEntry {
  level: LogLevelName;
  msg: string;
  /** Who is speaking: Nest's context ('Sender', 'NestFactory'), or `kafkajs.<namespace>`. */
  context?: string;
  /** The message being handled, when the line is about one. */
  messageId?: string;
  tenantId?: string;
  /** An error's stack (or its message when it has none). */
  err?: string;
  /** Anything else worth a field (kafkajs's broker and groupId, an attempt's outcome…). */
  fields?: Record<string, unknown>;
}

export interface LogWriter {
  /** The most detailed level written. */
  readonly level: LogLevelName;
  enabled(level: LogLevelName): boolean;
  /** Synchronous: the line is out when this returns. */
  write(entry: LogEntry): void;
}

/** What a caller may hand the logger as the message itself (see libs/edge/platform/src/logging.ts). */
export interface LogRecord {
  msg: string;
  messageId?: string;
  tenantId?: string;
  [field: string]: unknown;
}

/** The names a line sets itself; a field of the same name is left out. */
const RESERVED = new Set([
  'time',
  'level',
  'service',
  'instance',
  'context',
  'msg',
  'messageId',
  'tenantId',
  'err',
]);

export interface LineOrigin {
  /** `herald-<service>`. */
  service: string;
  /** HERALD_INSTANCE_ID (or `<hostname>-<pid>`). */
  instance: string;
}

/**
 * The JSON line for `entry` (without the newline). Every string in it, the ids and the fields'
 * included, goes through redactLogText; a field whose name says it is a credential is
 * replaced whole. Never throws: what cannot be written as JSON is described instead.
 */
export function formatLogLine(
  entry: LogEntry,
  origin: LineOrigin,
  secrets: readonly string[] = [],
  time: Date = new Date(),
): string {
  const text = (value: string): string => redactLogText(value, secrets);
  const line: Record<string, unknown> = {
    time: time.toISOString(),
    level: entry.level,
    service: origin.service,
    instance: origin.instance,
  };
  if (entry.context) line.context = entry.context;
  line.msg = text(entry.msg);
  if (entry.messageId !== undefined) line.messageId = text(entry.messageId);
  if (entry.tenantId !== undefined) line.tenantId = text(entry.tenantId);
  if (entry.fields) {
    for (const [name, value] of Object.entries(entry.fields)) {
      if (RESERVED.has(name) || value === undefined) continue;
      line[name] = isSensitiveName(name) ? redactedWhole(value) : plain(value, secrets, 0, []);
    }
  }
  if (entry.err) line.err = text(entry.err);
  try {
    return JSON.stringify(line);
  } catch (error) {
    // plain() leaves nothing JSON.stringify refuses; this is only a last resort.
    return JSON.stringify({
      time: line.time,
      level: entry.level,
      service: origin.service,
      instance: origin.instance,
      msg: `unwritable log line: ${(error as Error).message}`,
    });
  }
}

/** A writer of JSON lines: to stdout, one `write` each, unless told where. */
export function jsonLogWriter(options: {
  origin: LineOrigin;
  level: LogLevelName;
  /** Configured credentials, taken out of every line wherever they appear. */
  secrets?: readonly string[];
  out?: (line: string) => void;
  now?: () => Date;
}): LogWriter {
  const secrets = options.secrets ?? [];
  const out = options.out ?? ((line: string) => void process.stdout.write(line));
  const now = options.now ?? (() => new Date());
  return {
    level: options.level,
    enabled: (level) => levelEnabled(level, options.level),
    write(entry) {
      if (!levelEnabled(entry.level, options.level)) return;
      out(`${formatLogLine(entry, options.origin, secrets, now())}\n`);
    },
  };
}

// --- Redaction of free text -----------------------------------------------------------------

/** A URL inside text: its userinfo and sensitive query parameters go through redactUrl. */
const URL_IN_TEXT = /[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s"'<>`]+/g;
/** A Herald secret key (hk_sk_…), or one of the usual sk_… shapes, not inside a longer word. */
const SECRET_KEY_IN_TEXT = new RegExp(
  `(?<![A-Za-z0-9])(?:${SECRET_KEY_PREFIX}|sk_)[A-Za-z0-9_-]{8,}`,
  'g',
);
const BEARER = /\b(bearer)\s+(?!\[REDACTED\])[A-Za-z0-9\-._~+/]+=*/gi;
const BASIC = /\b(Basic)\s+(?!\[REDACTED\])[A-Za-z0-9+/]{6,}={0,2}(?![A-Za-z0-9+/=])/g;
/** `password=…`, `"client_secret":"…"`, `api_key: …` in text (query strings, dumped objects). */
const CREDENTIAL_ASSIGNMENT =
  /\b(password|passwd|pwd|client_secret|api[_-]?key|access[_-]?token|refresh[_-]?token)(["']?\s*[=:]\s*["']?)(?!\[REDACTED\])[^\s&,;"'}]+/gi;

/**
 * `text` with the credentials Herald can recognise taken out: the configured `secrets`
 * (redactKnownSecrets: also percent-encoded and JSON-escaped), the userinfo and sensitive query
 * parameters of every URL in it (redactUrl), Herald secret keys, bearer and basic credentials,
 * and `password=…`-style assignments. Each pattern runs only when a cheap test says it may
 * match, so an ordinary line costs a few `includes`.
 */
export function redactLogText(text: string, secrets: readonly string[] = []): string {
  let result = secrets.length > 0 ? redactKnownSecrets(text, secrets) : text;
  if (result.includes('://')) result = result.replace(URL_IN_TEXT, (url) => redactUrl(url));
  if (result.includes('sk_')) {
    result = result.replace(SECRET_KEY_IN_TEXT, (key) =>
      key.startsWith(SECRET_KEY_PREFIX) ? `${SECRET_KEY_PREFIX}${REDACTED}` : REDACTED,
    );
  }
  if (/bearer/i.test(result)) result = result.replace(BEARER, `$1 ${REDACTED}`);
  if (result.includes('Basic')) result = result.replace(BASIC, `$1 ${REDACTED}`);
  if (/pass|pwd|secret|key|token/i.test(result)) {
    result = result.replace(CREDENTIAL_ASSIGNMENT, `$1$2${REDACTED}`);
  }
  return result;
}

/**
 * `value` as plain JSON data, redacted: strings through redactLogText, credential-named keys
 * (password, token, secret…, and kafkajs's `sasl`) replaced, Errors as their stack, bytes as
 * their length, cycles and depth cut. Exported for the text-mode logger, which prints objects
 * itself.
 */
export function redactLogValue(value: unknown, secrets: readonly string[] = []): unknown {
  return plain(value, secrets, 0, []);
}

const MAX_DEPTH = 6;
const MAX_ITEMS = 100;

function plain(value: unknown, secrets: readonly string[], depth: number, seen: object[]): unknown {
  switch (typeof value) {
    case 'string':
      return redactLogText(value, secrets);
    case 'number':
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (value === null) return null;
  if (value instanceof Error) return redactLogText(value.stack ?? String(value), secrets);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    return `[${value.byteLength} bytes]`;
  }
  const object = value as object;
  if (seen.includes(object)) return '[circular]';
  if (depth >= MAX_DEPTH) return Array.isArray(object) ? '[array]' : '[object]';
  const path = [...seen, object];
  if (Array.isArray(object)) {
    const items = object
      .slice(0, MAX_ITEMS)
      .map((item: unknown) => plain(item, secrets, depth + 1, path) ?? null);
    if (object.length > MAX_ITEMS) items.push(`[${object.length - MAX_ITEMS} more]`);
    return items;
  }
  if (object instanceof Map) return plain(Object.fromEntries(object), secrets, depth, seen);
  if (object instanceof Set) return plain([...object], secrets, depth, seen);
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(object)) {
    if (isSensitiveName(key)) {
      out[key] = redactedWhole(item);
      continue;
    }
    const converted = plain(item, secrets, depth + 1, path);
    if (converted !== undefined) out[key] = converted;
  }
  return out;
}

/** A field named as a credential (`password`, `apiKey`, `sasl`…). */
function isSensitiveName(name: string): boolean {
  return name.toLowerCase() === 'sasl' || isSensitiveBodyKey(name);
}

/** As redactBody does: strings and objects go; numbers, booleans and null stay (no credential is one). */
function redactedWhole(value: unknown): unknown {
  return typeof value === 'string' || (typeof value === 'object' && value !== null)
    ? REDACTED
    : value;
}
