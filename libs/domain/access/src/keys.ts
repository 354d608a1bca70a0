/**
 * The rules for secret API keys that need no I/O: how a key looks, how the bootstrap variable
 * lists keys, and how a request's Authorization header names one. Making keys and hashing them
 * is the edge's work (libs/edge/auth).
 */

/** Every secret key starts with this, so a leaked one is recognisable (secret scanners, logs). */
export const SECRET_KEY_PREFIX = 'hk_sk_';

/** 32 random bytes in base64url are 43 characters; longer keys are accepted, shorter are not. */
export const SECRET_KEY_MIN_RANDOM_CHARS = 43;

const SECRET_KEY = new RegExp(
  `^${SECRET_KEY_PREFIX}[A-Za-z0-9_-]{${SECRET_KEY_MIN_RANDOM_CHARS},256}$`,
);

/** A tenant id as a key may carry it: printable, no separators of HERALD_API_KEYS, ≤ 255. */
const TENANT_ID = /^[A-Za-z0-9._~-]{1,255}$/;

export function isSecretKey(text: string): boolean {
  return SECRET_KEY.test(text);
}

export function isTenantId(text: string): boolean {
  return TENANT_ID.test(text);
}

export interface BootstrapKey {
  tenantId: string;
  key: string;
}

export type BootstrapKeysResult = { keys: BootstrapKey[] } | { problem: string };

/**
 * Parses HERALD_API_KEYS, `tenant:key,tenant:key`. A problem names the entry by its position
 * and never repeats the key itself, so the error can be logged.
 */
export function parseBootstrapKeys(text: string | undefined): BootstrapKeysResult {
  if (text === undefined || text.trim() === '') return { keys: [] };
  const keys: BootstrapKey[] = [];
  const entries = text.split(',').map((entry) => entry.trim());
  for (const [index, entry] of entries.entries()) {
    const at = `entry ${index + 1}`;
    const colon = entry.indexOf(':');
    if (colon <= 0) return { problem: `${at} must be tenant:key` };
    const tenantId = entry.slice(0, colon);
    const key = entry.slice(colon + 1);
    if (!isTenantId(tenantId)) {
      return { problem: `${at}: the tenant must be 1-255 letters, digits or . _ ~ -` };
    }
    if (!isSecretKey(key)) {
      // Nothing of the entry is quoted: written key-first, its "tenant" would be the key.
      return {
        problem: `${at}: the key must be ${SECRET_KEY_PREFIX} followed by at least ${SECRET_KEY_MIN_RANDOM_CHARS} base64url characters`,
      };
    }
    keys.push({ tenantId, key });
  }
  return { keys };
}

/** The credential of `Authorization: Bearer <credential>`, or null when there is none. */
export function bearerCredential(header: string | string[] | undefined): string | null {
  if (typeof header !== 'string') return null;
  const match = /^Bearer[ ]+([^\s]{1,4096})[ ]*$/i.exec(header);
  return match ? match[1]! : null;
}
