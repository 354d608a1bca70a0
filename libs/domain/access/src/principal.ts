/**
 * Who a request acts for, once its credential checked out, and what that lets it do. A secret
 * key acts for its whole tenant; a recipient token reads one recipient's in-app feed and nothing
 * else.
 */

export type Principal =
  | { kind: 'secret_key'; tenantId: string; keyId: string }
  | { kind: 'recipient_token'; tenantId: string; recipient: string };

/** Whether `principal` may read this recipient's feed (always within its own tenant). */
export function canReadFeed(principal: Principal, recipient: string): boolean {
  return principal.kind === 'secret_key' || principal.recipient === recipient;
}

/** Recipient tokens live at most a day (Knock's user tokens are also short-lived). */
export const MAX_TOKEN_TTL_SECONDS = 24 * 60 * 60;
export const DEFAULT_TOKEN_TTL_SECONDS = 60 * 60;

export type TokenTtlResult = { ttlSeconds: number } | { problem: string };

/** The `expiresIn` (seconds) a token request asks for, checked; absent means an hour. */
export function tokenTtl(value: unknown): TokenTtlResult {
  if (value === undefined || value === null) return { ttlSeconds: DEFAULT_TOKEN_TTL_SECONDS };
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < 1 ||
    value > MAX_TOKEN_TTL_SECONDS
  ) {
    return { problem: `must be a whole number of seconds from 1 to ${MAX_TOKEN_TTL_SECONDS}` };
  }
  return { ttlSeconds: value };
}

/**
 * The tenant a POST acts for: the key's. A body naming another tenant is refused (403) rather
 * than silently rewritten, so a caller with the wrong key finds out.
 */
export function tenantOfRequest(
  principal: Principal,
  bodyTenantId: unknown,
): { tenantId: string } | { forbidden: string } {
  if (bodyTenantId === undefined || bodyTenantId === null || bodyTenantId === principal.tenantId) {
    return { tenantId: principal.tenantId };
  }
  return { forbidden: `tenantId must be the key's tenant ('${principal.tenantId}') or absent` };
}
