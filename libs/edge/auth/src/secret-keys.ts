import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { SECRET_KEY_PREFIX } from '@herald/access';

/**
 * Making and hashing secret keys. A key is 32 random bytes (256 bits), so a single SHA-256 is
 * enough to store it: there is nothing to guess a password-hashing function would slow down,
 * and a fast hash keeps the check on every request in microseconds.
 */

export function newSecretKey(): string {
  return SECRET_KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** The public id a key is listed and revoked by; it tells nothing about the key. */
export function newKeyId(): string {
  return 'key_' + randomBytes(9).toString('base64url');
}

export function hashSecretKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Constant-time equality of two hex hashes of the same length. */
export function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}
