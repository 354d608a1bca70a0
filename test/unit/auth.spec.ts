import { createHash } from 'node:crypto';
import { isSecretKey, SECRET_KEY_PREFIX, type BootstrapKey } from '@herald/access';
import {
  ApiKeys,
  hashSecretKey,
  newKeyId,
  newSecretKey,
  RecipientTokens,
  sameHash,
  type ApiKeyDocument,
  type ApiKeyStore,
} from '@herald/auth';

const now = 1_800_000_000_000;

describe('newSecretKey', () => {
  it('makes an hk_sk_ key of 43 base64url characters that isSecretKey accepts', () => {
    const key = newSecretKey();
    expect(key).toMatch(/^hk_sk_[A-Za-z0-9_-]{43}$/);
    expect(key.startsWith(SECRET_KEY_PREFIX)).toBe(true);
    expect(isSecretKey(key)).toBe(true);
  });

  it('makes a different key every time', () => {
    const keys = new Set(Array.from({ length: 200 }, () => newSecretKey()));
    expect(keys.size).toBe(200);
  });
});

describe('newKeyId', () => {
  it('makes distinct key_ ids that are not secret keys', () => {
    const ids = new Set(Array.from({ length: 200 }, () => newKeyId()));
    expect(ids.size).toBe(200);
    for (const id of ids) {
      expect(id).toMatch(/^key_[A-Za-z0-9_-]{12}$/);
      expect(isSecretKey(id)).toBe(false);
    }
  });
});

describe('hashSecretKey', () => {
  it('is the hex SHA-256 of the key', () => {
    const key = newSecretKey();
    const hash = hashSecretKey(key);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).toBe(createHash('sha256').update(key, 'utf8').digest('hex'));
  });

  it('never equals or contains the key, and is the same for the same key', () => {
    const key = newSecretKey();
    expect(hashSecretKey(key)).not.toBe(key);
    expect(hashSecretKey(key)).not.toContain(key.slice(SECRET_KEY_PREFIX.length));
    expect(hashSecretKey(key)).toBe(hashSecretKey(key));
    expect(hashSecretKey(key)).not.toBe(hashSecretKey(newSecretKey()));
  });
});

describe('sameHash', () => {
  const hash = hashSecretKey(newSecretKey());

  it('is true for equal hashes', () => {
    expect(sameHash(hash, hash)).toBe(true);
  });

  it('is false for hashes that differ in one character', () => {
    const last = hash.endsWith('0') ? '1' : '0';
    expect(sameHash(hash, hash.slice(0, -1) + last)).toBe(false);
  });

  it('is false (and does not throw) for hashes of different lengths', () => {
    expect(sameHash(hash, hash.slice(0, 32))).toBe(false);
    expect(sameHash(hash, '')).toBe(false);
  });
});

describe('RecipientTokens', () => {
  const secret = new TextEncoder().encode('a-fixed-test-secret-of-32-chars!!');
  const tokens = new RecipientTokens(secret);
  const input = { tenantId: 'acme', recipient: 'user-1', keyId: 'key_abc', ttlSeconds: 600 };

  it('verifies a token it minted, giving back the tenant, the recipient and the key', async () => {
    const minted = await tokens.mint(input, now);
    expect(minted.expiresAt).toBe(now + 600_000);
    expect(await tokens.verify(minted.token, now)).toEqual({
      principal: { kind: 'recipient_token', tenantId: 'acme', recipient: 'user-1' },
      keyId: 'key_abc',
    });
  });

  it('still accepts the token a second before it expires', async () => {
    const { token, expiresAt } = await tokens.mint(input, now);
    expect(await tokens.verify(token, expiresAt - 1000)).not.toBeNull();
  });

  it('refuses a token once now is past its expiry', async () => {
    const { token, expiresAt } = await tokens.mint(input, now);
    expect(await tokens.verify(token, expiresAt + 1000)).toBeNull();
    expect(await tokens.verify(token, now + 24 * 3600 * 1000)).toBeNull();
  });

  it('rounds the expiry from the whole second the token was issued in', async () => {
    const minted = await tokens.mint(input, now + 999);
    expect(minted.expiresAt).toBe(now + 600_000);
  });

  /** The token with one base64url part replaced. */
  const withPart = (token: string, index: number, part: string): string => {
    const parts = token.split('.');
    parts[index] = part;
    return parts.join('.');
  };
  const encode = (value: object): string =>
    Buffer.from(JSON.stringify(value)).toString('base64url');
  const decode = (part: string): Record<string, unknown> =>
    JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;

  it('refuses a token whose payload names another recipient', async () => {
    const { token } = await tokens.mint(input, now);
    const payload = decode(token.split('.')[1]!);
    expect(payload.sub).toBe('user-1');
    const tampered = withPart(token, 1, encode({ ...payload, sub: 'user-2' }));
    expect(await tokens.verify(tampered, now)).toBeNull();
  });

  it('refuses a token whose payload names another tenant', async () => {
    const { token } = await tokens.mint(input, now);
    const payload = decode(token.split('.')[1]!);
    const tampered = withPart(token, 1, encode({ ...payload, tid: 'globex' }));
    expect(await tokens.verify(tampered, now)).toBeNull();
  });

  it('refuses a token whose payload extends its own expiry', async () => {
    const { token } = await tokens.mint(input, now);
    const payload = decode(token.split('.')[1]!);
    const tampered = withPart(token, 1, encode({ ...payload, exp: Number(payload.exp) + 86_400 }));
    expect(await tokens.verify(tampered, now + 700_000)).toBeNull();
  });

  it('refuses a token whose signature was changed', async () => {
    const { token } = await tokens.mint(input, now);
    const signature = token.split('.')[2]!;
    const flipped = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
    expect(await tokens.verify(withPart(token, 2, flipped), now)).toBeNull();
    expect(await tokens.verify(withPart(token, 2, ''), now)).toBeNull();
  });

  it('refuses an unsigned (alg none) token with the same claims', async () => {
    const { token } = await tokens.mint(input, now);
    const header = encode({ alg: 'none', typ: 'JWT' });
    const unsigned = `${header}.${token.split('.')[1]!}.`;
    expect(await tokens.verify(unsigned, now)).toBeNull();
  });

  it('refuses a token signed with another secret', async () => {
    const other = new RecipientTokens(
      new TextEncoder().encode('another-secret-also-32-characters'),
    );
    const { token } = await other.mint(input, now);
    expect(await other.verify(token, now)).not.toBeNull();
    expect(await tokens.verify(token, now)).toBeNull();
  });

  it.each([
    ['empty', ''],
    ['not a JWT', 'garbage'],
    ['three dots of nothing', '..'],
    ['a secret key', newSecretKey()],
    ['non-JSON parts', 'a.b.c'],
  ])('gives null, without throwing, for %s', async (_case, token) => {
    expect(await tokens.verify(token, now)).toBeNull();
  });
});

/**
 * The part of ApiKeyStore that ApiKeys calls, in memory. It hands out copies, as MongoDB does,
 * so a change here reaches ApiKeys's cache only through a reload or a lookup.
 */
class FakeApiKeyStore {
  readonly docs = new Map<string, ApiKeyDocument>();
  readonly calls = {
    bootstrap: [] as { entries: readonly BootstrapKey[]; now: number }[],
    all: 0,
    findByHash: [] as string[],
    findById: [] as string[],
    touch: [] as { hashes: string[]; now: number }[],
  };
  private nextId = 1;

  /** Stores `key` as a CLI key would be; returns its public id. */
  add(tenantId: string, key: string): string {
    const id = `key_${this.nextId++}`;
    this.docs.set(hashSecretKey(key), {
      _id: hashSecretKey(key),
      id,
      tenantId,
      source: 'cli',
      createdAt: now,
      lastUsedAt: null,
      revokedAt: null,
    });
    return id;
  }

  revoke(id: string, at: number): void {
    for (const doc of this.docs.values()) if (doc.id === id) doc.revokedAt = at;
  }

  async bootstrap(entries: readonly BootstrapKey[], at: number): Promise<void> {
    this.calls.bootstrap.push({ entries, now: at });
    for (const { tenantId, key } of entries) {
      const hash = hashSecretKey(key);
      if (this.docs.has(hash)) continue;
      this.docs.set(hash, {
        _id: hash,
        id: `key_${this.nextId++}`,
        tenantId,
        source: 'env',
        createdAt: at,
        lastUsedAt: null,
        revokedAt: null,
      });
    }
  }

  async all(): Promise<ApiKeyDocument[]> {
    this.calls.all += 1;
    return [...this.docs.values()].map((doc) => ({ ...doc }));
  }

  async findByHash(hash: string): Promise<ApiKeyDocument | null> {
    this.calls.findByHash.push(hash);
    const doc = this.docs.get(hash);
    return doc ? { ...doc } : null;
  }

  async findById(id: string): Promise<ApiKeyDocument | null> {
    this.calls.findById.push(id);
    const doc = [...this.docs.values()].find((d) => d.id === id);
    return doc ? { ...doc } : null;
  }

  async touch(hashes: readonly string[], at: number): Promise<void> {
    this.calls.touch.push({ hashes: [...hashes], now: at });
    for (const hash of hashes) {
      const doc = this.docs.get(hash);
      if (doc) doc.lastUsedAt = at;
    }
  }

  asStore(): ApiKeyStore {
    return this as unknown as ApiKeyStore;
  }
}

describe('ApiKeys', () => {
  let store: FakeApiKeyStore;
  let clock: number;
  let apiKeys: ApiKeys;

  /** A fresh cache over `store`; the test reloads it by hand (the timer would wait an hour). */
  const start = (bootstrap: readonly BootstrapKey[] = []): ApiKeys => {
    apiKeys = new ApiKeys(store.asStore(), { refreshMs: 3_600_000, bootstrap, now: () => clock });
    return apiKeys;
  };

  beforeEach(() => {
    store = new FakeApiKeyStore();
    clock = now;
  });

  afterEach(() => apiKeys?.stop());

  it('authenticates a HERALD_API_KEYS key to its tenant, storing it before the first check', async () => {
    const key = newSecretKey();
    start([{ tenantId: 'acme', key }]);

    const principal = await apiKeys.authenticate(key);

    expect(store.calls.bootstrap).toEqual([{ entries: [{ tenantId: 'acme', key }], now }]);
    const stored = store.docs.get(hashSecretKey(key))!;
    expect(principal).toEqual({ kind: 'secret_key', tenantId: 'acme', keyId: stored.id });
    expect(store.calls.findByHash).toEqual([]); // the first load had it
  });

  it('bootstraps and loads once, however many checks come at the same time', async () => {
    const key = newSecretKey();
    start([{ tenantId: 'acme', key }]);

    const principals = await Promise.all([1, 2, 3].map(() => apiKeys.authenticate(key)));

    expect(principals.every((p) => p?.tenantId === 'acme')).toBe(true);
    expect(store.calls.bootstrap).toHaveLength(1);
    expect(store.calls.all).toBe(1);
  });

  it('looks an unknown key up once, then remembers it as unknown', async () => {
    store.add('acme', newSecretKey());
    start();
    const unknown = newSecretKey();

    expect(await apiKeys.authenticate(unknown)).toBeNull();
    expect(await apiKeys.authenticate(unknown)).toBeNull();
    expect(await apiKeys.authenticate(unknown)).toBeNull();

    expect(store.calls.findByHash).toEqual([hashSecretKey(unknown)]);
  });

  it('looks an unknown key up again after a reload', async () => {
    start();
    const unknown = newSecretKey();
    await apiKeys.authenticate(unknown);

    await apiKeys.reload();
    await apiKeys.authenticate(unknown);

    expect(store.calls.findByHash).toEqual([hashSecretKey(unknown), hashSecretKey(unknown)]);
  });

  it('accepts a key added to the store after the first load at once, by one lookup', async () => {
    start();
    expect(await apiKeys.authenticate(newSecretKey())).toBeNull(); // the first load is done
    const key = newSecretKey();
    const id = store.add('globex', key);

    expect(await apiKeys.authenticate(key)).toEqual({
      kind: 'secret_key',
      tenantId: 'globex',
      keyId: id,
    });
    expect(await apiKeys.authenticate(key)).not.toBeNull();
    expect(store.calls.findByHash.filter((hash) => hash === hashSecretKey(key))).toHaveLength(1);
  });

  it('keeps accepting a revoked key until the next reload, and refuses it after', async () => {
    const key = newSecretKey();
    const id = store.add('acme', key);
    start();
    expect(await apiKeys.authenticate(key)).not.toBeNull();

    store.revoke(id, now + 1000);
    expect(await apiKeys.authenticate(key)).not.toBeNull();

    await apiKeys.reload();
    expect(await apiKeys.authenticate(key)).toBeNull();
    expect(store.calls.findByHash).toEqual([]); // known as revoked: no lookup either
  });

  it('refuses a key that is already revoked when first looked up', async () => {
    start();
    await apiKeys.authenticate(newSecretKey());
    const key = newSecretKey();
    store.revoke(store.add('acme', key), now);

    expect(await apiKeys.authenticate(key)).toBeNull();
  });

  it('tells whether a key id is active, and sees its revocation at the next reload', async () => {
    const key = newSecretKey();
    const id = store.add('acme', key);
    start();

    expect(await apiKeys.isActive(id)).toBe(true);
    expect(await apiKeys.isActive('key_nope')).toBe(false);

    store.revoke(id, now + 1000);
    expect(await apiKeys.isActive(id)).toBe(true);
    await apiKeys.reload();
    expect(await apiKeys.isActive(id)).toBe(false);
  });

  it('knows the id of a key added after the load once that key was looked up', async () => {
    start();
    await apiKeys.authenticate(newSecretKey());
    const key = newSecretKey();
    const id = store.add('acme', key);

    await apiKeys.authenticate(key);

    expect(await apiKeys.isActive(id)).toBe(true);
    expect(store.calls.findById).toEqual([]);
  });

  it('looks up, once, the id of a key made since the load (its token minted by another instance)', async () => {
    start();
    await apiKeys.authenticate(newSecretKey());
    const id = store.add('acme', newSecretKey());

    expect(await apiKeys.isActive(id)).toBe(true);
    expect(await apiKeys.isActive('key_unknown')).toBe(false);
    expect(await apiKeys.isActive('key_unknown')).toBe(false);
    expect(store.calls.findById).toEqual([id, 'key_unknown']);
  });

  it('records the keys used since the last reload at the next one, with the injected now', async () => {
    const used = newSecretKey();
    const idle = newSecretKey();
    store.add('acme', used);
    store.add('acme', idle);
    start();
    await apiKeys.authenticate(used);
    await apiKeys.authenticate(used);
    expect(store.calls.touch).toEqual([]); // not on the request path

    clock = now + 5_000;
    await apiKeys.reload();

    expect(store.calls.touch).toEqual([{ hashes: [hashSecretKey(used)], now: now + 5_000 }]);
    expect(store.docs.get(hashSecretKey(used))!.lastUsedAt).toBe(now + 5_000);
    expect(store.docs.get(hashSecretKey(idle))!.lastUsedAt).toBeNull();
  });

  it('touches nothing on a reload when no key was used, and each use only once', async () => {
    const key = newSecretKey();
    store.add('acme', key);
    start();
    await apiKeys.authenticate(key);
    await apiKeys.reload();
    await apiKeys.reload();

    expect(store.calls.touch).toHaveLength(1);
  });

  it('does not record a refused (unknown or revoked) key as used', async () => {
    const key = newSecretKey();
    store.revoke(store.add('acme', key), now);
    start();
    await apiKeys.authenticate(key);
    await apiKeys.authenticate(newSecretKey());

    await apiKeys.reload();

    expect(store.calls.touch).toEqual([]);
  });

  it.each([
    ['empty', ''],
    ['a key without its prefix', newSecretKey().slice(SECRET_KEY_PREFIX.length)],
    ['a short key', 'hk_sk_short'],
    ['a key with a space', `${newSecretKey()} `],
    ['a JWT', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig'],
  ])('refuses %s without touching the store', async (_case, credential) => {
    start([{ tenantId: 'acme', key: newSecretKey() }]);

    expect(await apiKeys.authenticate(credential)).toBeNull();

    expect(store.calls.bootstrap).toEqual([]);
    expect(store.calls.all).toBe(0);
    expect(store.calls.findByHash).toEqual([]);
  });

  it('tries the first load again at the next check when it failed', async () => {
    const key = newSecretKey();
    store.add('acme', key);
    start();
    const all = jest.spyOn(store, 'all').mockRejectedValueOnce(new Error('mongo down'));

    await expect(apiKeys.authenticate(key)).rejects.toThrow('mongo down');
    expect(await apiKeys.authenticate(key)).not.toBeNull();
    expect(all).toHaveBeenCalledTimes(2);
  });
});
