import { internalError } from '@herald/error-classification';
import { redactKnownSecrets } from '@herald/redaction';
import type { Failure } from '@herald/decisions';

/** Content this provider can never send (no text, no subject…): fails at once, no call made. */
export function invalidContent(message: string): Failure {
  return {
    ok: false,
    error: { category: 'non_retryable', code: 'invalid_content', message },
    log: null,
  };
}

/**
 * An exception an adapter did not expect (a bug, or a library failing oddly): retried as
 * `internal`, its message scrubbed because it may quote a request, credentials included.
 */
export function internalFailure(error: unknown, secrets: readonly string[]): Failure {
  const described = internalError(error);
  return {
    ok: false,
    error: { ...described, message: redactKnownSecrets(described.message, secrets) },
    log: null,
  };
}

/** Provider bodies are read defensively: undefined when the text is not JSON. */
export function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}
