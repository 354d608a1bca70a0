/**
 * Which names mark a value as a credential. Matching is by name, never by value: a credential
 * cannot be recognised by its shape, and the provider credentials Herald does know are
 * removed separately by redactKnownSecrets.
 */

/** Header names (lower-cased) whose value is always a credential. */
export const SENSITIVE_HEADER_NAMES: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
  'apikey',
  'x-auth-token',
];

/**
 * A header whose lower-cased name contains one of these is redacted too. Plain "key" is not
 * among them, so that Idempotency-Key (the messageId) stays readable in the logs.
 */
export const SENSITIVE_HEADER_NAME_PARTS: readonly string[] = [
  'token',
  'secret',
  'password',
  'passwd',
  'signature',
  'api-key',
  'api_key',
  'apikey',
  'session',
  'credential',
  'private',
  'authorization',
];

/** Query-string and form-field names (lower-cased, percent-decoded) that are credentials. */
export const SENSITIVE_PARAM_NAMES: readonly string[] = [
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'api_key',
  'apikey',
  'key',
  'secret',
  'client_secret',
  'signature',
  'sig',
  'password',
  'pass',
  'passwd',
  'pwd',
  'auth',
  'authorization',
  'code',
  'session',
  'credential',
  'credentials',
];

/** A parameter whose lower-cased name contains one of these is redacted too (X-Amz-Signature…). */
export const SENSITIVE_PARAM_NAME_PARTS: readonly string[] = [
  'token',
  'secret',
  'password',
  'passwd',
  'signature',
  'key',
  'credential',
];

/**
 * JSON keys that hold credentials, compared after lower-casing and dropping everything but
 * letters and digits, so apiKey, api_key and api-key are one name.
 */
export const SENSITIVE_BODY_KEYS: readonly string[] = [
  'password',
  'passwd',
  'pwd',
  'pass',
  'secret',
  'token',
  'api_key',
  'apiKey',
  'auth',
  'authorization',
  'client_secret',
  'private_key',
  'access_token',
  'refresh_token',
  'id_token',
  'credential',
  'credentials',
  'cookie',
  'session',
  'signature',
];

/** A JSON key whose normalised name contains one of these is sensitive too. */
export const SENSITIVE_BODY_KEY_PARTS: readonly string[] = [
  'secret',
  'password',
  'passwd',
  'token',
  'apikey',
  'privatekey',
  'credential',
  'authorization',
  'signature',
];

const headerNames = new Set(SENSITIVE_HEADER_NAMES);
const paramNames = new Set(SENSITIVE_PARAM_NAMES);
const bodyKeys = new Set(SENSITIVE_BODY_KEYS.map(normaliseKey));
const bodyKeyParts = SENSITIVE_BODY_KEY_PARTS.map(normaliseKey);

export function isSensitiveHeaderName(name: string): boolean {
  const lower = name.toLowerCase();
  return headerNames.has(lower) || SENSITIVE_HEADER_NAME_PARTS.some((part) => lower.includes(part));
}

/** `name` as it appears on the wire: it is percent-decoded here (`+` is a space). */
export function isSensitiveParamName(name: string): boolean {
  const lower = decodeComponent(name).toLowerCase().trim();
  return paramNames.has(lower) || SENSITIVE_PARAM_NAME_PARTS.some((part) => lower.includes(part));
}

export function isSensitiveBodyKey(key: string): boolean {
  const normalised = normaliseKey(key);
  return bodyKeys.has(normalised) || bodyKeyParts.some((part) => normalised.includes(part));
}

function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, '');
}

function decodeComponent(text: string): string {
  const spaced = text.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    // A malformed escape: judge the name as written rather than fail open.
    return spaced;
  }
}
