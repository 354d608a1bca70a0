import { Webhook } from 'standardwebhooks';

/**
 * Signing secrets per Standard Webhooks receiver (`/receivers/<script>/<name>`), registered
 * through `PUT /_sim/receivers/<name>` or Simulator.registerReceiver. Parsing is pure, so the
 * rules are unit-tested; the registry is bounded like the recipients' one.
 */

export const RECEIVER_SECRET_PREFIX = 'whsec_';
/** Enough for a rotation with room to spare; Standard Webhooks senders sign with one or two. */
export const MAX_RECEIVER_SECRETS = 4;
export const DEFAULT_MAX_RECEIVERS = 10_000;

export type ReceiverSecretsResult =
  { ok: true; secrets: string[] } | { ok: false; field: string; error: string };

/**
 * Reads a `PUT /_sim/receivers/<name>` registration, `{"secrets": ["whsec_...", ...]}`. Every
 * problem names its field (`name`, `body`, `secrets`, `secrets[i]`), so a test that registers a
 * malformed secret fails at registration instead of at its first, puzzling, 401.
 */
export function parseReceiverSecrets(name: string, body: unknown): ReceiverSecretsResult {
  if (name === '') {
    return { ok: false, field: 'name', error: 'the receiver name must not be empty' };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, field: 'body', error: 'body must be a JSON object {secrets: [...]}' };
  }
  const fields = body as Record<string, unknown>;
  const unknown = Object.keys(fields).find((key) => key !== 'secrets');
  if (unknown !== undefined) {
    return { ok: false, field: unknown, error: `unknown field "${unknown}"; expected secrets` };
  }
  const secrets = fields.secrets;
  if (!Array.isArray(secrets) || secrets.length < 1 || secrets.length > MAX_RECEIVER_SECRETS) {
    return {
      ok: false,
      field: 'secrets',
      error: `secrets must be an array of 1..${MAX_RECEIVER_SECRETS} ${RECEIVER_SECRET_PREFIX}... strings`,
    };
  }
  for (const [index, secret] of secrets.entries()) {
    const field = `secrets[${index}]`;
    if (typeof secret !== 'string' || !secret.startsWith(RECEIVER_SECRET_PREFIX)) {
      return {
        ok: false,
        field,
        error: `${field} must be a string starting ${RECEIVER_SECRET_PREFIX}`,
      };
    }
    try {
      // The same parse verification does, so a secret accepted here can always verify.
      new Webhook(secret);
    } catch (error) {
      const reason = (error as Error).message;
      return { ok: false, field, error: `${field} is not a usable secret: ${reason}` };
    }
  }
  return { ok: true, secrets: secrets as string[] };
}

/** Secrets per receiver name, bounded so a suite that registers per test cannot exhaust memory. */
export class ReceiverRegistry {
  private readonly entries = new Map<string, readonly string[]>();

  constructor(private readonly capacity = DEFAULT_MAX_RECEIVERS) {}

  set(name: string, secrets: readonly string[]): void {
    // Re-inserting moves the receiver to the newest end, so eviction drops the oldest.
    this.entries.delete(name);
    this.entries.set(name, [...secrets]);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }

  get(name: string): readonly string[] | undefined {
    return this.entries.get(name);
  }

  delete(name: string): boolean {
    return this.entries.delete(name);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
