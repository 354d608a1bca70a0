/**
 * A tenant's webhook endpoints: what they are, which message events they receive, which secrets
 * sign for them. Pure: the API and the delivery worker store and load them elsewhere.
 */

import { EVENT_TYPES, type EventType } from '@herald/messages';

/** The `type` of a webhook payload: a message event's type under `message.`. */
export type WebhookEventType = `message.${EventType}`;

export const WEBHOOK_EVENT_TYPES: readonly WebhookEventType[] = EVENT_TYPES.map(
  (type) => `message.${type}` as const,
);

export function webhookEventType(type: EventType): WebhookEventType {
  return `message.${type}`;
}

export interface EndpointSecret {
  /** `whsec_` + base64 of the key bytes, as Standard Webhooks writes secrets. */
  secret: string;
  /** Epoch ms after which it signs no more (a rotated-out secret); null for the current one. */
  expiresAt: number | null;
}

export interface WebhookEndpoint {
  id: string;
  tenantId: string;
  url: string;
  description: string | null;
  /** The types it receives; null for every type. */
  eventTypes: WebhookEventType[] | null;
  enabled: boolean;
  /** Why it was disabled: `gone` (it answered 410), `failing` (5 days of failures), `user`. */
  disabledReason: string | null;
  disabledAt: number | null;
  /** Newest first. */
  secrets: EndpointSecret[];
  /** When the run of failures it is in began (its first failure since the last success). */
  failingSince: number | null;
  createdAt: number;
  updatedAt: number;
}

/** How long a rotated-out secret keeps signing, so receivers can switch over (Svix: 24 h). */
export const SECRET_OVERLAP_MS = 24 * 3600 * 1000;

/** Svix's rule: an endpoint that has failed every delivery for 5 days is disabled. */
export const FAILING_DISABLES_AFTER_MS = 5 * 24 * 3600 * 1000;

/**
 * Whether an event goes to this endpoint: it is enabled, it takes the type, and it existed when
 * the event occurred (an endpoint receives what happens after it was created, not the past).
 */
export function receives(
  endpoint: WebhookEndpoint,
  event: { type: EventType; occurredAt: number },
): boolean {
  if (!endpoint.enabled || endpoint.createdAt > event.occurredAt) return false;
  return endpoint.eventTypes === null || endpoint.eventTypes.includes(webhookEventType(event.type));
}

/** The secrets that sign a call made at `now`: the current one, and a rotated-out one for 24 h. */
export function signingSecrets(endpoint: WebhookEndpoint, now: number): string[] {
  return endpoint.secrets
    .filter((secret) => secret.expiresAt === null || secret.expiresAt > now)
    .map((secret) => secret.secret);
}

/** The secrets after a rotation: the new one current, the previous one signing for 24 h more. */
export function rotatedSecrets(
  endpoint: WebhookEndpoint,
  secret: string,
  now: number,
): EndpointSecret[] {
  const previous = endpoint.secrets.find((s) => s.expiresAt === null);
  return [
    { secret, expiresAt: null },
    ...(previous ? [{ secret: previous.secret, expiresAt: now + SECRET_OVERLAP_MS }] : []),
  ];
}

export interface EndpointInput {
  url?: string;
  eventTypes?: WebhookEventType[] | null;
  description?: string | null;
  enabled?: boolean;
}

export interface FieldProblem {
  field: string;
  problem: string;
}

export type ParsedEndpointInput =
  { ok: true; value: EndpointInput } | { ok: false; problems: FieldProblem[] };

const MAX_URL_LENGTH = 2048;
const MAX_DESCRIPTION_LENGTH = 500;

/**
 * A create (`url` required) or update (every field optional, `enabled` allowed) body, or every
 * problem with it, each naming its field. The network guard still checks the URL at each call.
 */
export function parseEndpointInput(body: unknown, mode: 'create' | 'update'): ParsedEndpointInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, problems: [{ field: 'body', problem: 'must be a JSON object' }] };
  }
  const input = body as Record<string, unknown>;
  const problems: FieldProblem[] = [];
  const value: EndpointInput = {};
  const known = ['url', 'eventTypes', 'description', ...(mode === 'update' ? ['enabled'] : [])];
  for (const field of Object.keys(input)) {
    if (!known.includes(field)) problems.push({ field, problem: 'is not a field of an endpoint' });
  }

  if (input.url !== undefined || mode === 'create') {
    const problem = urlProblem(input.url);
    if (problem) problems.push({ field: 'url', problem: problem });
    else value.url = input.url as string;
  }
  if (input.eventTypes !== undefined) {
    const types = input.eventTypes;
    if (types === null) value.eventTypes = null;
    else if (!Array.isArray(types) || types.length === 0) {
      problems.push({ field: 'eventTypes', problem: 'must be a non-empty array, or null for all' });
    } else {
      const unknown = types.filter(
        (type) => !WEBHOOK_EVENT_TYPES.includes(type as WebhookEventType),
      );
      if (unknown.length > 0) {
        problems.push({
          field: 'eventTypes',
          problem: `unknown type(s) ${unknown.map((t) => JSON.stringify(t)).join(', ')}; known: ${WEBHOOK_EVENT_TYPES.join(', ')}`,
        });
      } else value.eventTypes = [...new Set(types as WebhookEventType[])];
    }
  }
  if (input.description !== undefined) {
    const text = input.description;
    if (text === null) value.description = null;
    else if (typeof text !== 'string' || text.length > MAX_DESCRIPTION_LENGTH) {
      problems.push({
        field: 'description',
        problem: `must be a string of at most ${MAX_DESCRIPTION_LENGTH} characters`,
      });
    } else value.description = text;
  }
  if (input.enabled !== undefined) {
    if (typeof input.enabled !== 'boolean') {
      problems.push({ field: 'enabled', problem: 'must be true or false' });
    } else value.enabled = input.enabled;
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value };
}

function urlProblem(url: unknown): string | null {
  if (typeof url !== 'string' || url === '') return 'is required: an http(s) URL';
  if (url.length > MAX_URL_LENGTH) return `must be at most ${MAX_URL_LENGTH} characters`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'must be http or https';
  if (parsed.username !== '' || parsed.password !== '') {
    return 'must not carry credentials (the signature authenticates Herald)';
  }
  return null;
}

/**
 * What an update writes: the input's fields, and when it turns the endpoint on or off, the
 * disabled reason with it (enabling again clears the reason and the run of failures). The API's
 * PATCH and the dashboard's enable/disable buttons both write this.
 */
export function endpointChanges(
  current: Pick<WebhookEndpoint, 'enabled'>,
  input: EndpointInput,
  now: number,
): Partial<WebhookEndpoint> {
  const changes: Partial<WebhookEndpoint> = { ...input, updatedAt: now };
  if (input.enabled === true && !current.enabled) {
    Object.assign(changes, { disabledReason: null, disabledAt: null, failingSince: null });
  }
  if (input.enabled === false && current.enabled) {
    Object.assign(changes, { disabledReason: 'user', disabledAt: now });
  }
  return changes;
}
