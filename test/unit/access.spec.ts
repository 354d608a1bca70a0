import {
  bearerCredential,
  canReadFeed,
  DEFAULT_TOKEN_TTL_SECONDS,
  isSecretKey,
  isTenantId,
  MAX_TOKEN_TTL_SECONDS,
  parseBootstrapKeys,
  SECRET_KEY_MIN_RANDOM_CHARS,
  SECRET_KEY_PREFIX,
  tenantOfRequest,
  tokenTtl,
  type Principal,
} from '@herald/access';

/** A well-formed key: the prefix and `length` base64url characters (built, not random). */
const keyOf = (length: number, char = 'A'): string => SECRET_KEY_PREFIX + char.repeat(length);
const KEY_A = SECRET_KEY_PREFIX + 'aB3-_' + 'x'.repeat(SECRET_KEY_MIN_RANDOM_CHARS - 5);
const KEY_B = SECRET_KEY_PREFIX + 'Zz9_-' + 'y'.repeat(SECRET_KEY_MIN_RANDOM_CHARS);

const secretKey: Principal = { kind: 'secret_key', tenantId: 'acme', keyId: 'key_1' };
const recipientToken: Principal = {
  kind: 'recipient_token',
  tenantId: 'acme',
  recipient: 'user-1',
};

describe('isSecretKey', () => {
  it('accepts the hk_sk_ prefix followed by 43 base64url characters', () => {
    expect(isSecretKey(keyOf(SECRET_KEY_MIN_RANDOM_CHARS))).toBe(true);
    expect(isSecretKey(KEY_A)).toBe(true);
  });

  it('accepts keys longer than 43 random characters', () => {
    expect(isSecretKey(KEY_B)).toBe(true);
    expect(isSecretKey(keyOf(256))).toBe(true);
  });

  it('refuses a key with only 42 random characters', () => {
    expect(isSecretKey(keyOf(SECRET_KEY_MIN_RANDOM_CHARS - 1))).toBe(false);
  });

  it('refuses a key with more than 256 random characters', () => {
    expect(isSecretKey(keyOf(257))).toBe(false);
  });

  it.each([
    ['no prefix', 'A'.repeat(49)],
    ['another prefix', 'hk_pk_' + 'A'.repeat(43)],
    ['an upper-case prefix', 'HK_SK_' + 'A'.repeat(43)],
    ['the prefix alone', SECRET_KEY_PREFIX],
    ['empty', ''],
  ])('refuses a key with %s', (_case, text) => {
    expect(isSecretKey(text)).toBe(false);
  });

  it.each([
    ['base64 +', '+'],
    ['base64 /', '/'],
    ['padding =', '='],
    ['a space', ' '],
    ['a dot', '.'],
    ['a non-ASCII letter', 'é'],
  ])('refuses characters outside base64url (%s)', (_case, char) => {
    expect(isSecretKey(keyOf(SECRET_KEY_MIN_RANDOM_CHARS) + char)).toBe(false);
    expect(isSecretKey(SECRET_KEY_PREFIX + char + 'A'.repeat(SECRET_KEY_MIN_RANDOM_CHARS))).toBe(
      false,
    );
  });

  it('refuses a key with a trailing newline', () => {
    expect(isSecretKey(keyOf(SECRET_KEY_MIN_RANDOM_CHARS) + '\n')).toBe(false);
  });
});

describe('isTenantId', () => {
  it.each(['acme', 'a', 'Tenant_1', 'a.b-c~d', 'x'.repeat(255)])('accepts %s', (id) => {
    expect(isTenantId(id)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['256 characters', 'x'.repeat(256)],
    ['a colon (the HERALD_API_KEYS separator)', 'a:b'],
    ['a comma (the HERALD_API_KEYS separator)', 'a,b'],
    ['a space', 'a b'],
    ['a slash', 'a/b'],
    ['a non-ASCII letter', 'café'],
  ])('refuses %s', (_case, id) => {
    expect(isTenantId(id)).toBe(false);
  });
});

describe('parseBootstrapKeys', () => {
  it.each([
    ['undefined', undefined],
    ['empty', ''],
    ['blank', '   '],
  ])('gives no keys for %s', (_case, text) => {
    expect(parseBootstrapKeys(text)).toEqual({ keys: [] });
  });

  it('reads one tenant:key entry', () => {
    expect(parseBootstrapKeys(`acme:${KEY_A}`)).toEqual({
      keys: [{ tenantId: 'acme', key: KEY_A }],
    });
  });

  it('reads several entries, trimming the spaces around each', () => {
    expect(parseBootstrapKeys(` acme:${KEY_A} , globex.eu:${KEY_B}`)).toEqual({
      keys: [
        { tenantId: 'acme', key: KEY_A },
        { tenantId: 'globex.eu', key: KEY_B },
      ],
    });
  });

  it('keeps two keys of the same tenant', () => {
    expect(parseBootstrapKeys(`acme:${KEY_A},acme:${KEY_B}`)).toEqual({
      keys: [
        { tenantId: 'acme', key: KEY_A },
        { tenantId: 'acme', key: KEY_B },
      ],
    });
  });

  /** The problem for `text`, failing the test when there is none. */
  const problemOf = (text: string): string => {
    const result = parseBootstrapKeys(text);
    if (!('problem' in result))
      throw new Error(`expected a problem, got ${JSON.stringify(result)}`);
    return result.problem;
  };

  it('names the position of an entry without a tenant, and not its key', () => {
    const problem = problemOf(`acme:${KEY_A},${KEY_B}`);
    expect(problem).toContain('entry 2');
    expect(problem).toContain('tenant:key');
    expect(problem).not.toContain(KEY_B);
    expect(problem).not.toContain(KEY_A);
  });

  it('names the position of an entry with an empty tenant, and not its key', () => {
    const problem = problemOf(`:${KEY_A}`);
    expect(problem).toContain('entry 1');
    expect(problem).not.toContain(KEY_A);
  });

  it('names the position of an entry with a bad tenant, and not its key', () => {
    const problem = problemOf(`acme:${KEY_A},bad tenant:${KEY_B}`);
    expect(problem).toContain('entry 2');
    expect(problem).toContain('tenant');
    expect(problem).not.toContain(KEY_B);
  });

  it('names the position of an entry with a malformed key, and nothing of the entry', () => {
    const shortKey = keyOf(SECRET_KEY_MIN_RANDOM_CHARS - 1, 'Q');
    const problem = problemOf(`acme:${KEY_A},globex:${shortKey}`);
    expect(problem).toContain('entry 2');
    expect(problem).not.toContain('globex');
    expect(problem).not.toContain(shortKey);
    expect(problem).not.toContain(shortKey.slice(SECRET_KEY_PREFIX.length));
    expect(problem).not.toContain(KEY_A);
  });

  it('names an empty entry left by a trailing comma', () => {
    expect(problemOf(`acme:${KEY_A},`)).toContain('entry 2');
  });

  // `hk_sk_…:acme` splits at the colon into tenant `hk_sk_…` (a valid tenant id) and key `acme`:
  // the problem must not quote the "tenant", or the key reaches the service's start-up log.
  it('never repeats the key of an entry written key-first (key:tenant)', () => {
    const problem = problemOf(`${KEY_A}:acme`);
    expect(problem).toContain('entry 1');
    expect(problem).not.toContain(KEY_A);
  });
});

describe('bearerCredential', () => {
  it('takes the credential after Bearer', () => {
    expect(bearerCredential(`Bearer ${KEY_A}`)).toBe(KEY_A);
  });

  it.each(['bearer', 'BEARER', 'bEaReR'])('reads the scheme case-insensitively (%s)', (scheme) => {
    expect(bearerCredential(`${scheme} ${KEY_A}`)).toBe(KEY_A);
  });

  it('allows several spaces after the scheme and trailing spaces', () => {
    expect(bearerCredential(`Bearer   ${KEY_A}  `)).toBe(KEY_A);
  });

  it.each([
    ['a missing header', undefined],
    ['an empty header', ''],
    ['the scheme alone', 'Bearer'],
    ['the scheme and a space', 'Bearer '],
    ['Basic auth', 'Basic dXNlcjpwYXNz'],
    ['a bare credential', KEY_A],
    ['a credential with a space in it', 'Bearer abc def'],
    ['no space after the scheme', `Bearer${KEY_A}`],
    ['a credential over 4096 characters', `Bearer ${'a'.repeat(4097)}`],
  ])('gives null for %s', (_case, header) => {
    expect(bearerCredential(header)).toBeNull();
  });

  it('gives null for a header sent several times (an array)', () => {
    expect(bearerCredential([`Bearer ${KEY_A}`, `Bearer ${KEY_B}`])).toBeNull();
    expect(bearerCredential([`Bearer ${KEY_A}`])).toBeNull();
  });
});

describe('tokenTtl', () => {
  it('is an hour when absent', () => {
    expect(DEFAULT_TOKEN_TTL_SECONDS).toBe(3600);
    expect(tokenTtl(undefined)).toEqual({ ttlSeconds: 3600 });
    expect(tokenTtl(null)).toEqual({ ttlSeconds: 3600 });
  });

  it.each([1, 60, 3600, 86_400])('accepts %d seconds', (seconds) => {
    expect(tokenTtl(seconds)).toEqual({ ttlSeconds: seconds });
  });

  it('caps tokens at a day', () => {
    expect(MAX_TOKEN_TTL_SECONDS).toBe(86_400);
  });

  it.each([
    ['zero', 0],
    ['negative', -1],
    ['a day and a second', 86_401],
    ['fractional', 1.5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a numeric string', '3600'],
    ['a boolean', true],
    ['an object', { seconds: 60 }],
  ])('refuses %s, naming the allowed range', (_case, value) => {
    expect(tokenTtl(value)).toEqual({ problem: expect.stringContaining('from 1 to 86400') });
  });
});

describe('tenantOfRequest', () => {
  it.each([
    ['absent', undefined],
    ['null', null],
    ["the key's tenant", 'acme'],
  ])("acts for the key's tenant when the body's tenantId is %s", (_case, bodyTenantId) => {
    expect(tenantOfRequest(secretKey, bodyTenantId)).toEqual({ tenantId: 'acme' });
  });

  it.each([
    ['another tenant', 'globex'],
    ['another case of the same name', 'ACME'],
    ['empty', ''],
    ['not a string', 42],
  ])('forbids a body naming %s, saying tenantId and the key tenant', (_case, bodyTenantId) => {
    const result = tenantOfRequest(secretKey, bodyTenantId);
    expect(result).toEqual({ forbidden: expect.stringContaining('tenantId') });
    expect(result).toEqual({ forbidden: expect.stringContaining("'acme'") });
  });
});

describe('canReadFeed', () => {
  it("lets a secret key read any recipient's feed of its tenant", () => {
    expect(canReadFeed(secretKey, 'user-1')).toBe(true);
    expect(canReadFeed(secretKey, 'user-2')).toBe(true);
  });

  it("lets a recipient token read its own recipient's feed", () => {
    expect(canReadFeed(recipientToken, 'user-1')).toBe(true);
  });

  it("refuses a recipient token another recipient's feed", () => {
    expect(canReadFeed(recipientToken, 'user-2')).toBe(false);
    expect(canReadFeed(recipientToken, 'USER-1')).toBe(false);
    expect(canReadFeed(recipientToken, '')).toBe(false);
  });
});
