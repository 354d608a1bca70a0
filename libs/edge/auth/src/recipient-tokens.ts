import { randomBytes } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type { Db } from 'mongodb';
import { isDuplicateKey } from '@herald/mongo';
import type { Principal } from '@herald/access';

/**
 * Recipient tokens: what a browser holds to read one recipient's in-app feed (Knock's "user
 * tokens"). A token is a JWT signed with HMAC-SHA256 (jose does the signing and checking)
 * naming the tenant, the recipient, the key that minted it and its expiry. Revoking that key
 * ends its tokens too, as soon as the key's revocation reaches the service.
 */

const ISSUER = 'herald';
const AUDIENCE = 'herald-feed';
const ALGORITHM = 'HS256';

export interface MintedToken {
  token: string;
  expiresAt: number;
}

export interface VerifiedToken {
  principal: Extract<Principal, { kind: 'recipient_token' }>;
  /** The key that minted it, which must still be valid. */
  keyId: string;
}

export class RecipientTokens {
  constructor(private readonly secret: Uint8Array) {}

  async mint(
    input: { tenantId: string; recipient: string; keyId: string; ttlSeconds: number },
    now: number,
  ): Promise<MintedToken> {
    const issuedAt = Math.floor(now / 1000);
    const expiresAt = issuedAt + input.ttlSeconds;
    const token = await new SignJWT({ tid: input.tenantId, kid: input.keyId })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(input.recipient)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt)
      .sign(this.secret);
    return { token, expiresAt: expiresAt * 1000 };
  }

  /** The token's principal, or null if it is malformed, tampered with or expired. */
  async verify(token: string, now: number): Promise<VerifiedToken | null> {
    try {
      const { payload } = await jwtVerify(token, this.secret, {
        algorithms: [ALGORITHM],
        issuer: ISSUER,
        audience: AUDIENCE,
        currentDate: new Date(now),
        requiredClaims: ['exp', 'sub'],
      });
      const { tid, kid, sub } = payload;
      if (typeof tid !== 'string' || typeof kid !== 'string' || typeof sub !== 'string') {
        return null;
      }
      return { principal: { kind: 'recipient_token', tenantId: tid, recipient: sub }, keyId: kid };
    } catch {
      return null;
    }
  }
}

const SECRETS_COLLECTION = 'herald_secrets';
const TOKEN_SECRET_ID = 'recipient-token-signing';

/**
 * The signing secret: HERALD_TOKEN_SECRET when set (recommended in production, and rotated by
 * changing it), else one made by the first service that needs it and kept in MongoDB, so every
 * instance signs and checks with the same one without any setup.
 */
export async function recipientTokenSecret(
  db: Db,
  configured: string | undefined,
): Promise<Uint8Array> {
  if (configured) return new TextEncoder().encode(configured);
  const secrets = db.collection<{ _id: string; secret: string }>(SECRETS_COLLECTION);
  try {
    await secrets.insertOne({
      _id: TOKEN_SECRET_ID,
      secret: randomBytes(32).toString('base64url'),
    });
  } catch (error) {
    if (!isDuplicateKey(error)) throw error;
  }
  const stored = await secrets.findOne({ _id: TOKEN_SECRET_ID });
  if (!stored) throw new Error('the recipient-token secret could not be stored in MongoDB');
  return Buffer.from(stored.secret, 'base64url');
}
