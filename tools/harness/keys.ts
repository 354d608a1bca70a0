import { newSecretKey } from '@herald/auth';

/**
 * Secret keys for the services the tests, the demo and the bench start: fresh ones each run,
 * given to the services through HERALD_API_KEYS (the bootstrap variable), so nothing depends on
 * a key stored before. Made by the same function as `npm run herald -- keys create`'s.
 */
export interface TenantKey {
  tenantId: string;
  key: string;
}

export function newTenantKey(tenantId: string): TenantKey {
  return { tenantId, key: newSecretKey() };
}

/** HERALD_API_KEYS for these keys: `tenant:key,…`. */
export function apiKeysEnv(keys: readonly TenantKey[]): { HERALD_API_KEYS: string } {
  return { HERALD_API_KEYS: keys.map(({ tenantId, key }) => `${tenantId}:${key}`).join(',') };
}

export function bearer(key: string): { authorization: string } {
  return { authorization: `Bearer ${key}` };
}
