import { type ProviderExchange } from '@herald/messages';
import { isSensitiveBodyKey, isSensitiveHeaderName, isSensitiveParamName } from './sensitive-names';
import { truncateUtf8 } from './truncate';

export const REDACTED = '[REDACTED]';

/**
 * Bodies in provider logs are cut at 8 KiB (UTF-8 bytes), after redaction, so that a large or
 * hostile response cannot bloat events in Kafka and documents in MongoDB.
 */
export const BODY_LIMIT_BYTES = 8192;

/** Shorter configured secrets are ignored: replacing them would shred ordinary text. */
export const MIN_SECRET_LENGTH = 4;

export type HeaderInput = Record<string, string | readonly string[] | number | undefined>;

// An auth scheme (RFC 9110 token) followed by credentials: "Bearer abc", "Basic dXNlcg==".
const AUTH_SCHEME = /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)\s+\S/;
const ABSOLUTE_URL = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/\S*$/;
const AUTHORITY = /^((?:[A-Za-z][A-Za-z0-9+.-]*:)?\/\/)([^/?#]*)(.*)$/s;

/**
 * Lower-cases names, joins repeated values with ", " and replaces the values of sensitive
 * headers. For Authorization-like headers the scheme is kept ("Bearer [REDACTED]") because it
 * is what one needs when debugging a 401. Other values that are absolute URLs (Location…)
 * go through redactUrl.
 */
export function redactHeaders(headers: HeaderInput): Record<string, string> {
  const merged = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    const text = typeof value === 'object' ? value.join(', ') : String(value);
    const previous = merged.get(lower);
    merged.set(lower, previous === undefined ? text : `${previous}, ${text}`);
  }
  const result: [string, string][] = [];
  for (const [name, value] of merged) result.push([name, redactHeaderValue(name, value)]);
  return Object.fromEntries(result);
}

function redactHeaderValue(name: string, value: string): string {
  if (isSensitiveHeaderName(name)) {
    if (!name.includes('authorization')) return REDACTED;
    const scheme = AUTH_SCHEME.exec(value.trim());
    return scheme ? `${scheme[1]} ${REDACTED}` : REDACTED;
  }
  return ABSOLUTE_URL.test(value.trim()) ? redactUrl(value) : value;
}

/**
 * Replaces the userinfo (username and password) and the values of sensitive query (and
 * fragment) parameters. Works on the string itself rather than through `new URL`, so the rest
 * stays byte-for-byte as given and text that is no valid URL is still redacted.
 */
export function redactUrl(url: string): string {
  const hashAt = url.indexOf('#');
  const beforeHash = hashAt < 0 ? url : url.slice(0, hashAt);
  const fragment = hashAt < 0 ? undefined : url.slice(hashAt + 1);
  const queryAt = beforeHash.indexOf('?');
  const base = queryAt < 0 ? beforeHash : beforeHash.slice(0, queryAt);
  const query = queryAt < 0 ? undefined : beforeHash.slice(queryAt + 1);

  let result = redactUserinfo(base);
  if (query !== undefined) result += `?${redactParams(query)}`;
  // OAuth's implicit flow puts tokens in the fragment: "#access_token=…".
  if (fragment !== undefined)
    result += `#${fragment.includes('=') ? redactParams(fragment) : fragment}`;
  return result;
}

function redactUserinfo(base: string): string {
  const match = AUTHORITY.exec(base);
  if (!match) return base;
  const [, prefix = '', authority = '', rest = ''] = match;
  // The last "@" ends the userinfo: an unencoded "@" in a password must not leak its tail.
  const at = authority.lastIndexOf('@');
  if (at < 0) return base;
  const userinfo = authority.slice(0, at);
  const redacted = userinfo.includes(':') ? `${REDACTED}:${REDACTED}` : REDACTED;
  return `${prefix}${redacted}${authority.slice(at)}${rest}`;
}

/**
 * `a=1&token=x` → `a=1&token=[REDACTED]`, for query strings and form bodies. Every repeat of
 * a sensitive name is redacted; empty values and parameters without "=" are left as they are.
 */
export function redactParams(params: string): string {
  return params
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0 || eq === pair.length - 1) return pair;
      const name = pair.slice(0, eq);
      return isSensitiveParamName(name) ? `${name}=${REDACTED}` : pair;
    })
    .join('&');
}

/**
 * Redacts a body by its content type, then truncates it to {@link BODY_LIMIT_BYTES}.
 * JSON (application/json, *+json, or any body that parses as a JSON object or array): values
 * of sensitive keys are replaced wherever they are nested. A sensitive key's string, object or
 * array value is replaced; numbers, booleans and null are kept, because no credential is a
 * bare number and counters such as "tokens_used" or "max_tokens" are useful when debugging.
 * String values that are absolute URLs go through redactUrl. The JSON is re-serialised
 * compactly only when something was replaced.
 * Form-urlencoded (declared, or sniffed when no content type is given): like a query string.
 * Anything else, or a body that does not parse, is kept unchanged.
 */
export function redactBody(body: string | null, contentType?: string): string | null {
  if (body === null) return null;
  return truncateUtf8(redactBodyContent(body, contentType), BODY_LIMIT_BYTES).text;
}

const FORM_LIKE = /^[^\s=&]+=[^\s&]*(?:&[^\s=&]+=[^\s&]*)*$/;

function redactBodyContent(body: string, contentType: string | undefined): string {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  const trimmed = body.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    const redacted = redactJson(body);
    if (redacted !== undefined) return redacted;
  }
  if (mediaType === 'application/x-www-form-urlencoded') return redactParams(body);
  if (!mediaType && FORM_LIKE.test(body)) return redactParams(body);
  return body;
}

/** The redacted JSON text, or undefined when `body` is not JSON. */
function redactJson(body: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  try {
    let changed = false;
    const visit = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(visit);
      if (typeof value === 'string' && ABSOLUTE_URL.test(value)) {
        const url = redactUrl(value);
        if (url !== value) changed = true;
        return url;
      }
      if (typeof value !== 'object' || value === null) return value;
      const out: [string, unknown][] = [];
      for (const [key, inner] of Object.entries(value)) {
        const replace = typeof inner === 'string' || (typeof inner === 'object' && inner !== null);
        if (replace && isSensitiveBodyKey(key)) {
          changed = true;
          out.push([key, REDACTED]);
          continue;
        }
        out.push([key, visit(inner)]);
      }
      return Object.fromEntries(out);
    };
    const redacted = visit(parsed);
    return changed ? JSON.stringify(redacted) : body;
  } catch {
    // Nesting deep enough to exhaust the stack: fail closed rather than log it unredacted.
    return `${REDACTED} (body too deeply nested to redact)`;
  }
}

/**
 * Replaces every literal occurrence of each configured secret of at least
 * {@link MIN_SECRET_LENGTH} characters, also in its percent-encoded and JSON-escaped forms
 * (how it appears in a URL or a serialised record). Longest first, so a secret containing
 * another is replaced whole.
 */
export function redactKnownSecrets(text: string, secrets: readonly string[]): string {
  const needles = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < MIN_SECRET_LENGTH) continue;
    needles.add(secret);
    needles.add(encodeURIComponent(secret));
    needles.add(JSON.stringify(secret).slice(1, -1));
  }
  let result = text;
  for (const needle of [...needles].sort((a, b) => b.length - a.length)) {
    if (result.includes(needle)) result = result.split(needle).join(REDACTED);
  }
  return result;
}

/**
 * A provider call log fit for events, logs and MongoDB: URL, both header maps and both bodies
 * redacted, then the known secrets removed from every string, and only then the bodies
 * truncated, so that a secret cut in half at the limit cannot survive.
 */
export function redactExchange(
  exchange: ProviderExchange,
  secrets: readonly string[] = [],
): ProviderExchange {
  const scrub = (text: string): string => redactKnownSecrets(text, secrets);
  const headers = (input: Record<string, string>): Record<string, string> =>
    Object.fromEntries(
      Object.entries(redactHeaders(input)).map(([name, value]) => [scrub(name), scrub(value)]),
    );
  const body = (input: string | null, from: Record<string, string>): string | null =>
    input === null
      ? null
      : truncateUtf8(scrub(redactBodyContent(input, contentTypeOf(from))), BODY_LIMIT_BYTES).text;

  const { request, response } = exchange;
  return {
    request: {
      method: request.method,
      url: scrub(redactUrl(request.url)),
      headers: headers(request.headers),
      body: body(request.body, request.headers),
    },
    response:
      response === null
        ? null
        : {
            status: response.status,
            headers: headers(response.headers),
            body: body(response.body, response.headers),
          },
    durationMs: exchange.durationMs,
  };
}

function contentTypeOf(headers: Record<string, string>): string | undefined {
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() === 'content-type') return value;
  }
  return undefined;
}
