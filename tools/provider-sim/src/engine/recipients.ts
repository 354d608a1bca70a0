import { parseScript, type Script } from './scripts';
import { parseStatusScript, type StatusScript } from './status-scripts';

/**
 * Scripts chosen per recipient: registered through the control API, or written inline in the
 * recipient itself. Pure apart from the bounded registry, so the rules are unit-tested.
 */

export interface Named<T> {
  name: string;
  script: T;
}

/** What a recipient is scripted to do; a missing field falls back to the next source. */
export interface Registration {
  /** For sends (and SMTP RCPT TO / DATA). */
  send?: Named<Script>;
  /** What status lookups report for messages accepted for this recipient. */
  status?: Named<StatusScript>;
  /** A send-style script for status lookups, so a status GET itself can fail. */
  check?: Named<Script>;
  /**
   * The routes the scripts apply on (route names or their prefix: `sendgrid`, `smtp`); absent,
   * every route. Elsewhere the recipient is as if unregistered, so one address can fail on one
   * provider and succeed on the next (a failover test).
   */
  only?: string[];
}

/** The registration as it applies on `route` (a route's name, e.g. `sendgrid.send`). */
export function registrationOn(
  registration: Registration | undefined,
  route: string,
): Registration | undefined {
  if (!registration?.only) return registration;
  return registration.only.some((name) => route === name || route.startsWith(`${name}.`))
    ? registration
    : undefined;
}

export type RegistrationResult =
  { ok: true; registration: Registration } | { ok: false; field: string; error: string };

const FIELDS = ['send', 'status', 'check'] as const;
const KEYS: readonly string[] = [...FIELDS, 'only'];

/**
 * Reads a `PUT /_sim/recipients/<r>` body. Every problem names its field, so a test that
 * registers a typo fails at registration instead of silently running `ok`.
 */
export function parseRegistration(body: unknown): RegistrationResult {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return {
      ok: false,
      field: 'body',
      error: 'body must be a JSON object {send?, status?, check?}',
    };
  }
  const fields = body as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!KEYS.includes(key)) {
      return {
        ok: false,
        field: key,
        error: `unknown field "${key}"; expected send, status, check, only`,
      };
    }
  }
  const registration: Registration = {};
  const only = fields.only;
  if (only !== undefined && only !== null) {
    if (!Array.isArray(only) || only.some((name) => typeof name !== 'string' || name === '')) {
      return { ok: false, field: 'only', error: 'only must be a list of route names' };
    }
    registration.only = only as string[];
  }
  for (const field of FIELDS) {
    const value = fields[field];
    // null reads as "not scripted", so a client can send a full object with gaps.
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') {
      return { ok: false, field, error: `${field} must be a script name (a string)` };
    }
    if (field === 'status') {
      const parsed = parseStatusScript(value);
      if (!parsed.ok) return { ok: false, field, error: `${field}: ${parsed.error}` };
      registration.status = { name: value, script: parsed.script };
    } else {
      const parsed = parseScript(value);
      if (!parsed.ok) return { ok: false, field, error: `${field}: ${parsed.error}` };
      registration[field] = { name: value, script: parsed.script };
    }
  }
  return { ok: true, registration };
}

/** The registration as the control API shows it: script names, null where not scripted. */
export function describeRegistration(
  recipient: string,
  registration: Registration,
): { recipient: string; send: string | null; status: string | null; check: string | null } {
  return {
    recipient,
    send: registration.send?.name ?? null,
    status: registration.status?.name ?? null,
    check: registration.check?.name ?? null,
  };
}

export interface InlineScripts {
  send?: Named<Script>;
  status?: Named<StatusScript>;
}

// Two segments at most: one send script and one status script, in either order.
const MAX_INLINE_SEGMENTS = 2;

/**
 * Scripts written into the recipient: `<script>+rest`, e.g. `fail-503-1+m42@sim.test` or
 * `error-UNREGISTERED-1+tok12345678`. A status script may lead too
 * (`undelivered-after-200+m42@sim.test`, `fail-503-1+failed-after-0+m42@sim.test`). A prefix
 * that parses as neither is just part of the address (`jane+news@example.com`,
 * `+14155550123`), so ordinary recipients are never misread.
 */
export function inlineScriptsOf(recipient: string): InlineScripts {
  const found: InlineScripts = {};
  let rest = recipient;
  for (let i = 0; i < MAX_INLINE_SEGMENTS; i += 1) {
    const plus = rest.indexOf('+');
    if (plus <= 0) break;
    const prefix = rest.slice(0, plus);
    const send = found.send ? undefined : parseScript(prefix);
    if (send?.ok) {
      found.send = { name: prefix, script: send.script };
    } else {
      const status = found.status ? undefined : parseStatusScript(prefix);
      if (!status?.ok) break;
      found.status = { name: prefix, script: status.script };
    }
    rest = rest.slice(plus + 1);
  }
  return found;
}

export const DEFAULT_MAX_REGISTRATIONS = 100_000;

/** Registrations, bounded so a test suite that registers per message cannot exhaust memory. */
export class RecipientRegistry {
  private readonly entries = new Map<string, Registration>();

  constructor(private readonly capacity = DEFAULT_MAX_REGISTRATIONS) {}

  set(recipient: string, registration: Registration): void {
    // Re-inserting moves the recipient to the newest end, so eviction drops the oldest.
    this.entries.delete(recipient);
    this.entries.set(recipient, registration);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }

  get(recipient: string): Registration | undefined {
    return this.entries.get(recipient);
  }

  delete(recipient: string): boolean {
    return this.entries.delete(recipient);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
