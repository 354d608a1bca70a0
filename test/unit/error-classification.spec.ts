import {
  MAX_RETRY_AFTER_MS,
  RETRYABLE_HTTP_STATUSES,
  classifyHttpResponse,
  classifyTransportError,
  internalError,
  isRetryable,
  parseRetryAfter,
} from '@herald/error-classification';
import { type ErrorCategory } from '@herald/messages';

const NOW = Date.UTC(2024, 5, 1, 12, 0, 0);

/** An Error as Node and undici build them: a message, a `code`, optionally a `cause`. */
function codedError(code: string, message = code, cause?: unknown): Error {
  const error = new Error(message, cause === undefined ? undefined : { cause });
  return Object.assign(error, { code });
}

/** What fetch rejects with when the connection fails: the real error hangs off `cause`. */
function fetchFailed(cause: unknown): TypeError {
  return new TypeError('fetch failed', { cause });
}

describe('classifyHttpResponse', () => {
  it.each([200, 201, 202, 204, 299])('accepts %i', (status) => {
    expect(classifyHttpResponse(status, {}, { now: Date.now() })).toEqual({ ok: true });
  });

  it('declares the contract retryable statuses', () => {
    expect([...RETRYABLE_HTTP_STATUSES].sort()).toEqual([408, 425, 429, 500, 502, 503, 504]);
  });

  it.each(RETRYABLE_HTTP_STATUSES.map((status) => [status]))('retries %i', (status) => {
    expect(classifyHttpResponse(status, {}, { now: Date.now() })).toEqual({
      ok: false,
      error: { category: 'retryable', code: `http_${status}`, message: expect.any(String) },
    });
  });

  it.each([
    [400, '400 Bad Request'],
    [401, '401 Unauthorized'],
    [403, '403 Forbidden'],
    [404, '404 Not Found'],
    [410, '410 Gone'],
    [422, '422 Unprocessable Entity'],
    [501, '501 Not Implemented'],
    [301, '301 Moved Permanently'],
    [599, '599 HTTP error'],
  ])('does not retry %i', (status, message) => {
    expect(classifyHttpResponse(status, {}, { now: Date.now() })).toEqual({
      ok: false,
      error: { category: 'non_retryable', code: `http_${status}`, message },
    });
  });

  it('writes a short human message', () => {
    const result = classifyHttpResponse(503, {}, { now: Date.now() });
    expect(result.ok === false && result.error.message).toBe('503 Service Unavailable');
  });

  it('retries a provider-specific extra status', () => {
    const result = classifyHttpResponse(
      520,
      {},
      { extraRetryableStatuses: [520], now: Date.now() },
    );
    expect(result.ok === false && result.error.category).toBe('retryable');
  });

  it.each([
    [{ 'Retry-After': '120' }, 120_000],
    [{ 'retry-after': '7' }, 7_000],
    [{ 'RETRY-AFTER': ['3', '9'] }, 3_000],
    [{ 'retry-after': new Date(NOW + 90_000).toUTCString() }, 90_000],
  ])('reads Retry-After case-insensitively from %j', (headers, retryAfterMs) => {
    expect(classifyHttpResponse(429, headers, { now: NOW })).toMatchObject({
      ok: false,
      retryAfterMs,
    });
  });

  it('reports Retry-After on a non-retryable failure as well', () => {
    expect(classifyHttpResponse(403, { 'retry-after': '5' }, { now: Date.now() })).toMatchObject({
      retryAfterMs: 5000,
    });
  });

  it('omits retryAfterMs when the header is absent or unparseable', () => {
    expect(classifyHttpResponse(503, {}, { now: Date.now() })).not.toHaveProperty('retryAfterMs');
    expect(
      classifyHttpResponse(503, { 'retry-after': 'soon' }, { now: Date.now() }),
    ).not.toHaveProperty('retryAfterMs');
  });
});

describe('parseRetryAfter', () => {
  it.each<[string, string | string[] | undefined, number | undefined]>([
    ['delta-seconds', '120', 120_000],
    ['zero', '0', 0],
    ['surrounding whitespace', '  30 ', 30_000],
    ['decimal seconds, rounded up', '1.5', 1_500],
    ['tiny decimal, never early', '0.0001', 1],
    ['negative seconds', '-5', 0],
    ['an array, first value', ['2', '4'], 2_000],
    ['IMF-fixdate in the future', 'Sat, 01 Jun 2024 12:01:00 GMT', 60_000],
    ['IMF-fixdate in the past', 'Sat, 01 Jun 2024 11:00:00 GMT', 0],
    ['obsolete RFC 850 date', 'Saturday, 01-Jun-24 12:00:10 GMT', 10_000],
    ['asctime date', 'Sat Jun  1 12:00:20 2024', 20_000],
    ['an old date', 'Sun, 06 Nov 1994 08:49:37 GMT', 0],
    ['absurd seconds, capped', '999999999', MAX_RETRY_AFTER_MS],
    ['absurd date, capped', 'Fri, 01 Jan 2100 00:00:00 GMT', MAX_RETRY_AFTER_MS],
    ['garbage', 'soon', undefined],
    ['a number with units', '5s', undefined],
    ['an ISO date', '2024-06-01T12:01:00Z', undefined],
    ['an impossible date', 'Fri, 31 Feb 2024 12:00:00 GMT', undefined],
    ['an impossible time', 'Sat, 01 Jun 2024 25:00:00 GMT', undefined],
    ['an empty value', '', undefined],
    ['no value', undefined, undefined],
  ])('%s', (_label, value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });

  it('caps at seven days', () => {
    expect(MAX_RETRY_AFTER_MS).toBe(7 * 24 * 3600 * 1000);
  });
});

describe('classifyTransportError', () => {
  it.each([
    'ECONNREFUSED',
    'ECONNRESET',
    'EPIPE',
    'ENOTFOUND',
    'EAI_AGAIN',
    'ETIMEDOUT',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'UND_ERR_CONNECT_TIMEOUT',
    'UND_ERR_HEADERS_TIMEOUT',
    'UND_ERR_BODY_TIMEOUT',
    'UND_ERR_SOCKET',
    'UND_ERR_CLOSED',
    'ERR_TLS_CERT_ALTNAME_INVALID',
    'ERR_SSL_WRONG_VERSION_NUMBER',
    'CERT_HAS_EXPIRED',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'SELF_SIGNED_CERT_IN_CHAIN',
  ])('%s, thrown directly and wrapped by fetch, is a network error', (code) => {
    const expected = { category: 'network', code, message: `boom ${code}` };
    expect(classifyTransportError(codedError(code, `boom ${code}`))).toEqual(expected);
    expect(classifyTransportError(fetchFailed(codedError(code, `boom ${code}`)))).toEqual(expected);
  });

  it('finds the code however deep the cause chain is', () => {
    const root = codedError('ECONNRESET', 'read ECONNRESET');
    const error = new Error('provider call failed', { cause: fetchFailed(root) });
    expect(classifyTransportError(error)).toMatchObject({
      category: 'network',
      code: 'ECONNRESET',
      message: 'read ECONNRESET',
    });
  });

  it('looks inside an AggregateError from a multi-address connect', () => {
    const aggregate = new AggregateError(
      [codedError('ECONNREFUSED', 'connect ECONNREFUSED ::1:80')],
      'connect failed',
    );
    expect(classifyTransportError(fetchFailed(aggregate))).toMatchObject({
      category: 'network',
      code: 'ECONNREFUSED',
    });
  });

  it.each([
    ['a DOMException TimeoutError', new DOMException('aborted due to timeout', 'TimeoutError')],
    ['a DOMException AbortError', new DOMException('This operation was aborted', 'AbortError')],
    [
      "undici's RequestAbortedError",
      Object.assign(new Error('Request aborted'), { name: 'AbortError', code: 'UND_ERR_ABORTED' }),
    ],
    ['a wrapped abort', fetchFailed(new DOMException('aborted', 'AbortError'))],
  ])('%s is a network timeout', (_label, error) => {
    expect(classifyTransportError(error)).toMatchObject({ category: 'network', code: 'timeout' });
  });

  it.each<[string, unknown]>([
    ['a plain Error', new Error('undefined is not a function')],
    ['an unknown code', codedError('ERR_INVALID_ARG_TYPE')],
    ['fetch failed without a known cause', fetchFailed(new Error('bad port'))],
    ['a string', 'oops'],
    ['null', null],
    ['a plain object', { secret: 'hunter22' }],
  ])('%s is internal', (_label, error) => {
    expect(classifyTransportError(error)).toMatchObject({ category: 'internal', code: 'internal' });
  });

  it('survives a cyclic cause chain', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(classifyTransportError(a).category).toBe('internal');
  });
});

describe('internalError', () => {
  it('names the error without serialising arbitrary objects', () => {
    expect(internalError(new RangeError('too deep'))).toEqual({
      category: 'internal',
      code: 'internal',
      message: 'RangeError: too deep',
    });
    expect(internalError({ password: 'hunter22' }).message).not.toContain('hunter22');
  });

  it('keeps messages short', () => {
    expect(internalError(new Error('x'.repeat(5000))).message.length).toBeLessThanOrEqual(500);
  });
});

describe('isRetryable', () => {
  it.each<[ErrorCategory, boolean]>([
    ['network', true],
    ['retryable', true],
    ['internal', true],
    ['non_retryable', false],
  ])('%s → %s', (category, expected) => {
    expect(isRetryable(category)).toBe(expected);
  });
});
