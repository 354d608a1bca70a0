/**
 * The Idempotency-Key a provider call carries: the messageId, the same on every retry, so a
 * provider that deduplicates drops repeats. Header values are bytes, and Node's HTTP clients
 * refuse characters beyond Latin-1, while an id may hold any printable Unicode (the fuzz found
 * `…Ω` accepted and then never sent). So an id that is not all visible ASCII goes percent-encoded
 * (UTF-8): ASCII, stable across retries, and the same id always gives the same key.
 */
export function idempotencyKey(messageId: string): string {
  return /^[!-~]+$/.test(messageId) ? messageId : encodeURIComponent(messageId);
}
