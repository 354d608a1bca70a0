import type { Db } from 'mongodb';
import type { Principal } from '@herald/access';
import { ApiKeys, ApiKeyStore, RecipientTokens, recipientTokenSecret } from '@herald/auth';
import type { HeraldConfig } from '@herald/config';

/**
 * What the access guard and the token endpoint need: the service's key cache and the recipient
 * tokens. Both start lazily, so a service without /v1 endpoints never reads the keys.
 */
export class Access {
  readonly apiKeys: ApiKeys;
  private tokens: Promise<RecipientTokens> | undefined;

  constructor(
    private readonly db: Db,
    private readonly config: HeraldConfig,
  ) {
    this.apiKeys = new ApiKeys(new ApiKeyStore(db), {
      refreshMs: config.access.keyRefreshMs,
      bootstrap: config.access.bootstrapKeys,
    });
  }

  recipientTokens(): Promise<RecipientTokens> {
    this.tokens ??= recipientTokenSecret(this.db, this.config.access.tokenSecret).then(
      (secret) => new RecipientTokens(secret),
      (error: unknown) => {
        this.tokens = undefined;
        throw error;
      },
    );
    return this.tokens;
  }

  /** A recipient token's principal, if it checks out and the key that minted it still works. */
  async verifyRecipientToken(token: string): Promise<Principal | null> {
    const verified = await (await this.recipientTokens()).verify(token, Date.now());
    if (!verified || !(await this.apiKeys.isActive(verified.keyId))) return null;
    return verified.principal;
  }

  stop(): void {
    this.apiKeys.stop();
  }
}
