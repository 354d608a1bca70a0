import { Logger } from '@nestjs/common';
import { isSecretKey, type BootstrapKey, type Principal } from '@herald/access';
import type { ApiKeyDocument, ApiKeyStore } from './api-key-store';
import { hashSecretKey, sameHash } from './secret-keys';

export interface ApiKeysOptions {
  /** How often the cache reloads every key; a revocation is seen within this (≤ 10 s). */
  refreshMs: number;
  /** HERALD_API_KEYS, stored (as hashes) before the first check. */
  bootstrap: readonly BootstrapKey[];
  now?: () => number;
}

/** How many unknown keys are remembered as unknown, so a flood of bad keys stays off MongoDB. */
const REMEMBERED_UNKNOWN = 10_000;

/**
 * Each service's cache of the api_keys collection, and the check every /v1 request goes
 * through. The cache is loaded at the first check (services without /v1 endpoints never load
 * it) and reloaded every `refreshMs`, which is how a revocation by the CLI reaches every
 * instance. A key made since the last reload is looked up by its hash once, so a new key works
 * at once. Checking a known key is a SHA-256 and a map lookup: no I/O on the request path.
 */
export class ApiKeys {
  private readonly logger = new Logger('ApiKeys');
  private readonly now: () => number;
  private byHash = new Map<string, ApiKeyDocument>();
  private byId = new Map<string, ApiKeyDocument>();
  /** Hashes not in the store at the last reload (most recent last). */
  private readonly unknown = new Set<string>();
  /** Keys used since the last reload, whose lastUsedAt the reload records. */
  private readonly used = new Set<string>();
  private loaded: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly lookups = new Map<string, Promise<ApiKeyDocument | null>>();

  constructor(
    private readonly store: ApiKeyStore,
    private readonly options: ApiKeysOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** The principal a secret key acts for, or null for a missing, unknown or revoked key. */
  async authenticate(key: string): Promise<Principal | null> {
    if (!isSecretKey(key)) return null;
    await this.ensureLoaded();
    const hash = hashSecretKey(key);
    let doc = this.byHash.get(hash) ?? null;
    if (!doc && !this.unknown.has(hash)) doc = await this.lookUp(hash);
    // The map found the entry by its hash; comparing the hashes in constant time as well means
    // no timing difference ever depends on how much of a stored hash a caller matched.
    if (!doc || !sameHash(doc._id, hash) || doc.revokedAt !== null) return null;
    this.used.add(hash);
    return { kind: 'secret_key', tenantId: doc.tenantId, keyId: doc.id };
  }

  /** Whether the key with this public id exists and is not revoked (for its recipient tokens). */
  async isActive(keyId: string): Promise<boolean> {
    await this.ensureLoaded();
    // A key made since the last reload (its token minted on another instance) is read once.
    const doc = this.byId.get(keyId) ?? (await this.lookUpId(keyId));
    return doc !== null && doc.revokedAt === null;
  }

  /** Reloads every key now (the timer does this every refreshMs). */
  async reload(): Promise<void> {
    const docs = await this.store.all();
    this.byHash = new Map(docs.map((doc) => [doc._id, doc]));
    this.byId = new Map(docs.map((doc) => [doc.id, doc]));
    this.unknown.clear();
    const used = [...this.used];
    this.used.clear();
    if (used.length > 0) await this.store.touch(used, this.now());
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private ensureLoaded(): Promise<void> {
    this.loaded ??= (async () => {
      await this.store.bootstrap(this.options.bootstrap, this.now());
      await this.reload();
      this.timer = setInterval(() => {
        this.reload().catch((error: Error) =>
          // The last good cache keeps serving; the next reload tries again.
          this.logger.warn(`reloading API keys failed: ${error.message}`),
        );
      }, this.options.refreshMs);
      this.timer.unref();
    })().catch((error: unknown) => {
      this.loaded = undefined; // the next request tries again
      throw error;
    });
    return this.loaded;
  }

  private lookUp(hash: string): Promise<ApiKeyDocument | null> {
    let pending = this.lookups.get(hash);
    if (!pending) {
      pending = this.store.findByHash(hash).then((doc) => {
        if (doc) {
          this.byHash.set(hash, doc);
          this.byId.set(doc.id, doc);
        } else this.rememberUnknown(hash);
        return doc;
      });
      pending.finally(() => this.lookups.delete(hash)).catch(() => undefined);
      this.lookups.set(hash, pending);
    }
    return pending;
  }

  private async lookUpId(keyId: string): Promise<ApiKeyDocument | null> {
    if (this.unknown.has(`id:${keyId}`)) return null;
    const doc = await this.store.findById(keyId);
    if (doc) {
      this.byHash.set(doc._id, doc);
      this.byId.set(doc.id, doc);
    } else {
      this.rememberUnknown(`id:${keyId}`);
    }
    return doc;
  }

  private rememberUnknown(hash: string): void {
    this.unknown.add(hash);
    if (this.unknown.size > REMEMBERED_UNKNOWN) {
      this.unknown.delete(this.unknown.values().next().value!);
    }
  }
}
