import { type DeliveryError, type ErrorCategory } from '@herald/messages';

/**
 * Error codes meaning the provider could not be reached or did not answer: Node's socket and
 * DNS errors and undici's transport failures. They keep their own code in the DeliveryError
 * so operators can tell a DNS outage from a refused port.
 */
export const NETWORK_ERROR_CODES: readonly string[] = [
  // Node / libuv
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EPROTO',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  // undici
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  // The provider's answer was cut short or mangled in transit.
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
];

/**
 * OpenSSL's X.509 verification failures as Node reports them (Node's tls docs, "X509
 * certificate error codes"). Codes starting with {@link TLS_ERROR_CODE_PREFIXES} are matched
 * too, so the full list need not be repeated here.
 */
export const TLS_ERROR_CODES: readonly string[] = [
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CRL_SIGNATURE_FAILURE',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'HOSTNAME_MISMATCH',
  'UND_ERR_PRX_TLS',
];

/** CERT_HAS_EXPIRED, CERT_REVOKED…; ERR_TLS_CERT_ALTNAME_INVALID…; ERR_SSL_WRONG_VERSION_NUMBER… */
export const TLS_ERROR_CODE_PREFIXES: readonly string[] = ['CERT_', 'ERR_TLS_', 'ERR_SSL_'];

/** An aborted or timed-out call: fetch/undici reject with a DOMException of one of these names. */
export const TIMEOUT_ERROR_NAMES: readonly string[] = ['AbortError', 'TimeoutError'];

/**
 * The code of a call the network guard refused (a destination Herald may not reach): never
 * retried, since the address will not become allowed by waiting.
 */
export const BLOCKED_DESTINATION_CODE = 'blocked_destination';

/** The code given to {@link TIMEOUT_ERROR_NAMES} errors, which carry no string code. */
export const TIMEOUT_CODE = 'timeout';

const MAX_MESSAGE_LENGTH = 500;
// Bounds the walk through cause chains, which a hostile or buggy error could make cyclic or huge.
const MAX_ERRORS_VISITED = 32;

export function isNetworkErrorCode(code: string): boolean {
  return (
    NETWORK_ERROR_CODES.includes(code) ||
    TLS_ERROR_CODES.includes(code) ||
    TLS_ERROR_CODE_PREFIXES.some((prefix) => code.startsWith(prefix))
  );
}

/** undici's code for a request it cannot make as given (e.g. a header value outside Latin-1). */
export const INVALID_ARGUMENT_CODE = 'UND_ERR_INVALID_ARG';

/**
 * Classifies an error thrown by a provider call. fetch wraps the real failure as
 * TypeError('fetch failed') with a `cause`, and Node's happy-eyeballs connect reports an
 * AggregateError with `errors`, so both are searched (outermost first) for a known network
 * code or an abort/timeout. Anything unrecognised is 'internal': a bug or a transient
 * pipeline failure, which the contract retries as well.
 */
export function classifyTransportError(error: unknown): DeliveryError {
  const queue: unknown[] = [error];
  const seen = new Set<unknown>();
  while (queue.length > 0 && seen.size < MAX_ERRORS_VISITED) {
    const current = queue.shift();
    if (typeof current !== 'object' || current === null || seen.has(current)) continue;
    seen.add(current);

    const { code, name } = current as { code?: unknown; name?: unknown };
    if (code === BLOCKED_DESTINATION_CODE) {
      return deliveryError('non_retryable', BLOCKED_DESTINATION_CODE, messageOf(current));
    }
    // The HTTP client refused to build the request (a header value it cannot send, say): the
    // same request fails the same way on every retry.
    if (code === INVALID_ARGUMENT_CODE) {
      return deliveryError('non_retryable', INVALID_ARGUMENT_CODE, messageOf(current));
    }
    if (typeof code === 'string' && isNetworkErrorCode(code)) {
      return deliveryError('network', code, messageOf(current));
    }
    if (typeof name === 'string' && TIMEOUT_ERROR_NAMES.includes(name)) {
      return deliveryError('network', TIMEOUT_CODE, messageOf(current));
    }

    const { cause, errors } = current as { cause?: unknown; errors?: unknown };
    if (cause !== undefined) queue.push(cause);
    if (Array.isArray(errors)) queue.push(...(errors as unknown[]));
  }
  return internalError(error);
}

/** A failure of Herald itself (or one it cannot attribute to the provider). */
export function internalError(error: unknown): DeliveryError {
  return deliveryError('internal', 'internal', describe(error));
}

/** Everything except 'non_retryable' is retried: network, retryable and internal failures. */
export function isRetryable(category: ErrorCategory): boolean {
  return category !== 'non_retryable';
}

function deliveryError(category: ErrorCategory, code: string, message: string): DeliveryError {
  return { category, code, message: clip(message) };
}

function messageOf(error: object): string {
  const { message } = error as { message?: unknown };
  return typeof message === 'string' && message !== '' ? message : describe(error);
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const prefix = typeof code === 'string' ? `${error.name} [${code}]` : error.name;
    return error.message ? `${prefix}: ${error.message}` : prefix;
  }
  if (typeof error === 'string') return error;
  const message = (error as { message?: unknown } | null)?.message;
  if (typeof message === 'string' && message !== '') return message;
  // Not serialised: an arbitrary thrown object may hold configuration, credentials included.
  return `non-Error value thrown (${error === null ? 'null' : typeof error})`;
}

function clip(text: string): string {
  return text.length <= MAX_MESSAGE_LENGTH ? text : `${text.slice(0, MAX_MESSAGE_LENGTH - 1)}…`;
}
