import type { Collection, Db } from 'mongodb';
import { isDuplicateKey } from '@herald/mongo';
import type { BootstrapKey } from '@herald/access';
import { hashSecretKey, newKeyId, newSecretKey } from './secret-keys';

export const API_KEYS_COLLECTION = 'api_keys';

/** A key as stored: its hash, never the key. */
export interface ApiKeyDocument {
  /** SHA-256 of the key, hex: a lookup by exact _id stays fast on FerretDB too. */
  _id: string;
  /** The public id (`key_…`) it is listed and revoked by. */
  id: string;
  tenantId: string;
  /** `cli` (made by `npm run herald -- keys create`) or `env` (from HERALD_API_KEYS). */
  source: 'cli' | 'env';
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

/** What `keys list` shows: no hash either. */
export interface ApiKeySummary {
  id: string;
  tenantId: string;
  source: ApiKeyDocument['source'];
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

/**
 * The api_keys collection. It is not part of the read model: a rebuild leaves it alone. Plain
 * class, so the CLI uses it without Nest.
 */
export class ApiKeyStore {
  private readonly keys: Collection<ApiKeyDocument>;

  constructor(db: Db) {
    this.keys = db.collection<ApiKeyDocument>(API_KEYS_COLLECTION);
  }

  /** A new key for the tenant. The key itself is returned once and never stored. */
  async create(tenantId: string, now: number): Promise<{ key: string; summary: ApiKeySummary }> {
    const key = newSecretKey();
    const doc: ApiKeyDocument = {
      _id: hashSecretKey(key),
      id: newKeyId(),
      tenantId,
      source: 'cli',
      createdAt: now,
      lastUsedAt: null,
      revokedAt: null,
    };
    await this.keys.insertOne(doc);
    return { key, summary: summarise(doc) };
  }

  /**
   * Stores the hashes of HERALD_API_KEYS. A key already there is left as it is, so restarting
   * with the variable still set does not bring a revoked key back.
   */
  async bootstrap(entries: readonly BootstrapKey[], now: number): Promise<void> {
    for (const { tenantId, key } of entries) {
      try {
        await this.keys.insertOne({
          _id: hashSecretKey(key),
          id: newKeyId(),
          tenantId,
          source: 'env',
          createdAt: now,
          lastUsedAt: null,
          revokedAt: null,
        });
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
    }
  }

  async list(): Promise<ApiKeySummary[]> {
    const docs = await this.keys.find({}).toArray();
    return docs.map(summarise).sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
  }

  /** Every stored key, hashes included: what each service's cache holds. */
  all(): Promise<ApiKeyDocument[]> {
    return this.keys.find({}).toArray();
  }

  findByHash(hash: string): Promise<ApiKeyDocument | null> {
    return this.keys.findOne({ _id: hash });
  }

  findById(id: string): Promise<ApiKeyDocument | null> {
    return this.keys.findOne({ id });
  }

  /** 'revoked', 'already_revoked' (the first revocation's time stays) or 'not_found'. */
  async revoke(id: string, now: number): Promise<'revoked' | 'already_revoked' | 'not_found'> {
    const result = await this.keys.updateOne({ id, revokedAt: null }, { $set: { revokedAt: now } });
    if (result.modifiedCount === 1) return 'revoked';
    return (await this.keys.findOne({ id })) ? 'already_revoked' : 'not_found';
  }

  /** Records that these keys were used (at most every refresh; see ApiKeys). */
  async touch(hashes: readonly string[], now: number): Promise<void> {
    // One update per key: few keys are in use at once, and FerretDB v1 finds an exact _id fast.
    for (const hash of hashes) {
      await this.keys.updateOne({ _id: hash }, { $set: { lastUsedAt: now } });
    }
  }
}

function summarise(doc: ApiKeyDocument): ApiKeySummary {
  return {
    id: doc.id,
    tenantId: doc.tenantId,
    source: doc.source,
    createdAt: doc.createdAt,
    lastUsedAt: doc.lastUsedAt,
    revokedAt: doc.revokedAt,
  };
}
