import { isSecretKey } from '@herald/access';
import {
  hashSecretKey,
  newSecretKey,
  type ApiKeyDocument,
  type ApiKeyStore,
  type ApiKeySummary,
} from '@herald/auth';
import { KEYS_USAGE, runKeysCommand } from '../../apps/cli/src/keys';

const now = Date.UTC(2027, 0, 15, 12, 0, 0);

/**
 * The part of ApiKeyStore the `keys` commands call, in memory. list() hands back whole stored
 * documents, hash included, so a test sees that the command itself leaves the hash out.
 */
class FakeKeyStore {
  readonly docs: ApiKeyDocument[] = [];
  readonly keys: string[] = [];
  private nextId = 1;

  async create(tenantId: string, at: number): Promise<{ key: string; summary: ApiKeySummary }> {
    const key = newSecretKey();
    const doc: ApiKeyDocument = {
      _id: hashSecretKey(key),
      id: `key_${String(this.nextId++).padStart(4, '0')}`,
      tenantId,
      source: 'cli',
      createdAt: at,
      lastUsedAt: null,
      revokedAt: null,
    };
    this.docs.push(doc);
    this.keys.push(key);
    const { id, source, createdAt, lastUsedAt, revokedAt } = doc;
    return { key, summary: { id, tenantId, source, createdAt, lastUsedAt, revokedAt } };
  }

  async list(): Promise<ApiKeySummary[]> {
    return this.docs.map((doc) => ({ ...doc }));
  }

  async revoke(id: string, at: number): Promise<'revoked' | 'already_revoked' | 'not_found'> {
    const doc = this.docs.find((d) => d.id === id);
    if (!doc) return 'not_found';
    if (doc.revokedAt !== null) return 'already_revoked';
    doc.revokedAt = at;
    return 'revoked';
  }

  asStore(): ApiKeyStore {
    return this as unknown as ApiKeyStore;
  }
}

interface Run {
  code: number;
  out: string[];
  err: string[];
}

const run = async (store: FakeKeyStore, args: string[], at = now): Promise<Run> => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runKeysCommand(
    args,
    store.asStore(),
    { out: (line) => out.push(line), err: (line) => err.push(line) },
    at,
  );
  return { code, out, err };
};

describe('keys create', () => {
  it('prints the new key once, with its tenant and id, and exits 0', async () => {
    const store = new FakeKeyStore();

    const { code, out, err } = await run(store, ['create', '--tenant', 'acme']);

    expect(code).toBe(0);
    expect(err).toEqual([]);
    const [key] = store.keys;
    expect(isSecretKey(key!)).toBe(true);
    const text = out.join('\n');
    expect(text).toContain('key_0001');
    expect(text).toContain('acme');
    // Shown as the key line and as the header line to copy, and nowhere else.
    expect(out.filter((line) => line.includes(key!))).toHaveLength(2);
    expect(out.some((line) => line.endsWith(`Authorization: Bearer ${key!}`))).toBe(true);
    expect(text).not.toContain(hashSecretKey(key!));
    expect(store.docs[0]).toMatchObject({ tenantId: 'acme', createdAt: now });
  });

  it('prints parseable JSON with the key and the id under --json', async () => {
    const store = new FakeKeyStore();

    const { code, out } = await run(store, ['create', '--json', '--tenant', 'acme']);

    expect(code).toBe(0);
    expect(out).toHaveLength(1);
    const printed = JSON.parse(out[0]!) as Record<string, unknown>;
    expect(printed).toEqual({
      id: 'key_0001',
      tenantId: 'acme',
      source: 'cli',
      key: store.keys[0],
      createdAt: new Date(now).toISOString(),
      lastUsedAt: null,
      revokedAt: null,
    });
    expect(out[0]).not.toContain(hashSecretKey(store.keys[0]!));
  });

  it.each([
    ['no --tenant', ['create']],
    ['--tenant without a value', ['create', '--tenant']],
    ['--tenant followed only by --json', ['create', '--tenant', '--json']],
    ['a tenant with a colon', ['create', '--tenant', 'a:b']],
    ['a tenant with a space', ['create', '--tenant', 'a b']],
    ['an empty tenant', ['create', '--tenant', '']],
  ])('exits 2 with a message on err for %s, making no key', async (_case, args) => {
    const store = new FakeKeyStore();

    const { code, out, err } = await run(store, args);

    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err.join('\n')).toContain('--tenant');
    expect(store.docs).toEqual([]);
  });
});

describe('keys list', () => {
  /** Two keys of two tenants, the first used, the second revoked. */
  const twoKeys = async (): Promise<FakeKeyStore> => {
    const store = new FakeKeyStore();
    await store.create('acme', now);
    await store.create('globex', now + 60_000);
    store.docs[0]!.lastUsedAt = now + 30_000;
    store.docs[1]!.revokedAt = now + 120_000;
    return store;
  };

  it('prints a table of every key without any hash or key', async () => {
    const store = await twoKeys();

    const { code, out, err } = await run(store, ['list']);

    expect(code).toBe(0);
    expect(err).toEqual([]);
    expect(out).toHaveLength(3);
    expect(out[0]!.split(/\s{2,}/)).toEqual([
      'ID',
      'TENANT',
      'SOURCE',
      'CREATED',
      'LAST USED',
      'REVOKED',
    ]);
    expect(out[1]!.split(/\s{2,}/)).toEqual([
      'key_0001',
      'acme',
      'cli',
      new Date(now).toISOString(),
      new Date(now + 30_000).toISOString(),
      '-',
    ]);
    expect(out[2]!.split(/\s{2,}/)).toEqual([
      'key_0002',
      'globex',
      'cli',
      new Date(now + 60_000).toISOString(),
      'never',
      new Date(now + 120_000).toISOString(),
    ]);
    const text = out.join('\n');
    for (const key of store.keys) {
      expect(text).not.toContain(key);
      expect(text).not.toContain(hashSecretKey(key));
    }
  });

  it('lines the columns up', async () => {
    const { out } = await run(await twoKeys(), ['list']);
    const tenantColumn = out[0]!.indexOf('TENANT');
    expect(out.map((line) => line.indexOf(line.split(/\s{2,}/)[1]!))).toEqual([
      tenantColumn,
      tenantColumn,
      tenantColumn,
    ]);
  });

  it('prints JSON summaries without any hash or key under --json', async () => {
    const store = await twoKeys();

    const { code, out } = await run(store, ['list', '--json']);

    expect(code).toBe(0);
    expect(out).toHaveLength(1);
    const printed = JSON.parse(out[0]!) as Record<string, unknown>[];
    expect(printed).toEqual([
      {
        id: 'key_0001',
        tenantId: 'acme',
        source: 'cli',
        createdAt: new Date(now).toISOString(),
        lastUsedAt: new Date(now + 30_000).toISOString(),
        revokedAt: null,
      },
      {
        id: 'key_0002',
        tenantId: 'globex',
        source: 'cli',
        createdAt: new Date(now + 60_000).toISOString(),
        lastUsedAt: null,
        revokedAt: new Date(now + 120_000).toISOString(),
      },
    ]);
    for (const key of store.keys) {
      expect(out[0]).not.toContain(key);
      expect(out[0]).not.toContain(hashSecretKey(key));
    }
  });

  it('says how to make a key when there is none', async () => {
    const { code, out } = await run(new FakeKeyStore(), ['list']);
    expect(code).toBe(0);
    expect(out).toHaveLength(1);
    expect(out[0]).toContain('keys create --tenant');
  });

  it('prints an empty JSON array under --json when there is no key', async () => {
    const { code, out } = await run(new FakeKeyStore(), ['list', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(out[0]!)).toEqual([]);
  });
});

describe('keys revoke', () => {
  it('revokes a key by its id at now and exits 0', async () => {
    const store = new FakeKeyStore();
    await store.create('acme', now);

    const { code, out, err } = await run(store, ['revoke', 'key_0001'], now + 5000);

    expect(code).toBe(0);
    expect(err).toEqual([]);
    expect(out.join('\n')).toContain('Revoked key_0001');
    expect(store.docs[0]!.revokedAt).toBe(now + 5000);
  });

  it('says a key was already revoked, keeping the first time, and exits 0', async () => {
    const store = new FakeKeyStore();
    await store.create('acme', now);
    await run(store, ['revoke', 'key_0001'], now + 5000);

    const { code, out } = await run(store, ['revoke', 'key_0001'], now + 9000);

    expect(code).toBe(0);
    expect(out.join('\n')).toContain('key_0001 was already revoked');
    expect(store.docs[0]!.revokedAt).toBe(now + 5000);
  });

  it('exits 1 with a message on err for an unknown id', async () => {
    const { code, out, err } = await run(new FakeKeyStore(), ['revoke', 'key_nope']);
    expect(code).toBe(1);
    expect(out).toEqual([]);
    expect(err.join('\n')).toContain('no key with id key_nope');
  });

  it('exits 2 with a message on err when no id is named', async () => {
    const { code, err } = await run(new FakeKeyStore(), ['revoke']);
    expect(code).toBe(2);
    expect(err.join('\n')).toContain('key id');
  });
});

describe('keys with an unknown or missing sub-command', () => {
  it.each([
    ['an unknown sub-command', ['delete', 'key_0001']],
    ['no sub-command', []],
    ['a flag only', ['--json']],
  ])('prints the usage on err and exits 2 for %s', async (_case, args) => {
    const { code, out, err } = await run(new FakeKeyStore(), args);
    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err).toEqual([KEYS_USAGE]);
    expect(KEYS_USAGE).toContain('keys create --tenant');
  });
});
