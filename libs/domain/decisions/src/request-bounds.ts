import type { MessageRequested } from '@herald/messages';
import type { FieldProblem } from './message-request';

/**
 * The bounds every request is held to, whether it came over HTTP or straight onto Kafka (the
 * contract's "Limits and hostile input"): one place, so the two paths cannot disagree.
 */
export const REQUEST_LIMITS = {
  /** messageId and tenantId: printable, at most this many characters. */
  idLength: 255,
  /** content and metadata: at most this many keys each… */
  mapKeys: 64,
  /** …each key at most this long. */
  mapKeyLength: 255,
  /** provider and retryPolicy: names, at most this many characters. */
  nameLength: 100,
  /** providers: a failover chain of at most this many names. */
  providers: 5,
  /** recipient: an address or URL, at most this many characters. */
  recipientLength: 2048,
  /** How far in the past requestedAt may be (the requests topic keeps 7 days). */
  requestedAtPastMs: 30 * 24 * 60 * 60 * 1000,
  /** How far ahead of this machine's clock requestedAt may be (clock skew, not scheduling). */
  requestedAtFutureMs: 24 * 60 * 60 * 1000,
  /** A POST /v1/messages body, in bytes. */
  bodyBytes: 256 * 1024,
  /**
   * content and metadata together (keys and values, UTF-8): what the body limit allows over
   * HTTP, held to on Kafka too, where a record can be 1 MiB and the delivery task that carries
   * the content would then be too large for Kafka itself.
   */
  mapBytes: 256 * 1024,
} as const;

/** C0 and C1 control characters, DEL, and lone surrogates (which no store can keep as text). */
function unprintable(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code <= 0x1f || (code >= 0x7f && code <= 0x9f)) return true;
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return true;
      i += 1; // a well-formed pair
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      return true;
    }
  }
  return false;
}

/** What is wrong with an id (messageId, tenantId), or null: printable, 1–255 characters. */
export function idProblem(id: string): string | null {
  if (id.length === 0) return 'must not be empty';
  if (id.length > REQUEST_LIMITS.idLength) {
    return `must be at most ${REQUEST_LIMITS.idLength} characters`;
  }
  if (unprintable(id)) return 'must be printable (no control characters)';
  return null;
}

/**
 * What is wrong with a request's ids. A record whose ids break these cannot name a message at
 * all (not even a not_sent one), so ingest dead-letters it instead.
 */
export function identityProblems(
  request: Pick<MessageRequested, 'messageId' | 'tenantId'>,
): FieldProblem[] {
  return (['messageId', 'tenantId'] as const).flatMap((field) => {
    const problem = idProblem(request[field]);
    return problem ? [{ field, problem }] : [];
  });
}

/**
 * Every bound a request breaks, each naming its field. `now` is the receiving service's clock:
 * a requestedAt outside [now − 30 days, now + 1 day] is refused, so no stored timestamp is ever
 * one a date library cannot format.
 */
export function requestBoundsProblems(request: MessageRequested, now: number): FieldProblem[] {
  const problems = identityProblems(request);
  // Checked before the provider, recipient and policy are looked up: the answer to an unknown
  // name quotes it, and an event then carrying a long name twice can outgrow the broker's
  // record limit (the request itself fitted), which stops the consumer.
  const texts = [
    ['provider', request.provider, REQUEST_LIMITS.nameLength],
    ['recipient', request.recipient, REQUEST_LIMITS.recipientLength],
    ['retryPolicy', request.retryPolicy, REQUEST_LIMITS.nameLength],
  ] as const;
  for (const [field, value, max] of texts) {
    if (value !== null && value.length > max) {
      problems.push({ field, problem: `must be at most ${max} characters` });
    }
  }
  const chain = request.providers;
  if (chain.length > REQUEST_LIMITS.providers) {
    problems.push({
      field: 'providers',
      problem: `must name at most ${REQUEST_LIMITS.providers} providers`,
    });
  } else if (chain.some((name) => name.length > REQUEST_LIMITS.nameLength)) {
    problems.push({
      field: 'providers',
      problem: `names must be at most ${REQUEST_LIMITS.nameLength} characters`,
    });
  } else if (new Set(chain).size !== chain.length) {
    problems.push({ field: 'providers', problem: 'must not name a provider twice' });
  } else if (chain.length > 0 && chain[0] !== request.provider) {
    problems.push({
      field: 'providers',
      problem: `must start with provider ('${request.provider}'), the one tried first`,
    });
  }
  for (const field of ['content', 'metadata'] as const) {
    const keys = Object.keys(request[field]);
    if (keys.length > REQUEST_LIMITS.mapKeys) {
      problems.push({ field, problem: `must have at most ${REQUEST_LIMITS.mapKeys} keys` });
    }
    const long = keys.find((key) => key.length > REQUEST_LIMITS.mapKeyLength);
    if (long !== undefined) {
      problems.push({
        field,
        problem: `keys must be at most ${REQUEST_LIMITS.mapKeyLength} characters`,
      });
    }
  }
  const bytes = mapBytes(request.content) + mapBytes(request.metadata);
  if (bytes > REQUEST_LIMITS.mapBytes) {
    problems.push({
      field: 'content',
      problem: `content and metadata together must be at most ${REQUEST_LIMITS.mapBytes} bytes (UTF-8), not ${bytes}`,
    });
  }
  if (!requestedAtInBounds(request.requestedAt, now)) {
    problems.push({
      field: 'requestedAt',
      problem: 'must be within the last 30 days and at most 1 day ahead',
    });
  }
  return problems;
}

/** UTF-8 bytes of a map's keys and values. */
export function mapBytes(map: Record<string, string>): number {
  let bytes = 0;
  for (const [key, value] of Object.entries(map)) bytes += utf8Length(key) + utf8Length(value);
  return bytes;
}

/** Bytes of `text` in UTF-8 (a lone surrogate counts as the 3 bytes of its replacement). */
export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

export function requestedAtInBounds(requestedAt: number, now: number): boolean {
  return (
    Number.isSafeInteger(requestedAt) &&
    requestedAt >= now - REQUEST_LIMITS.requestedAtPastMs &&
    requestedAt <= now + REQUEST_LIMITS.requestedAtFutureMs
  );
}
