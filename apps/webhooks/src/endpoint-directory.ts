import type { WebhookEndpoint } from '@herald/webhooks';
import type { WebhookEndpointStore } from '@herald/mongo';

/** Tenants (and endpoints) whose lookups are kept; the oldest are forgotten past this. */
const MAX_CACHED = 10_000;

/** How stale an endpoint may be when the delivery worker calls it (a PATCH takes this long). */
const ENDPOINT_FRESH_MS = 1_000;

interface TenantEntry {
  /** When the lookup started: it reflects every change made before then. */
  readAt: number;
  endpoints: Promise<WebhookEndpoint[]>;
}

/**
 * The endpoints the fan-out and the delivery worker look up, cached. A tenant's list read at
 * time T answers for every event that occurred before T, and a later event reads it again: so
 * an endpoint receives exactly the events that occur after it was created (and none after it
 * is deleted or disabled), while under load one read serves a whole batch.
 */
export class EndpointDirectory {
  private readonly tenants = new Map<string, TenantEntry>();
  private readonly byId = new Map<
    string,
    { readAt: number; endpoint: Promise<WebhookEndpoint | null> }
  >();

  constructor(private readonly store: WebhookEndpointStore) {}

  /** The tenant's endpoints as they were when the event occurred, or later. */
  async ofTenant(tenantId: string, occurredAt: number): Promise<WebhookEndpoint[]> {
    const cached = this.tenants.get(tenantId);
    if (cached && cached.readAt > occurredAt) return cached.endpoints;
    const entry: TenantEntry = { readAt: Date.now(), endpoints: this.store.ofTenant(tenantId) };
    remember(this.tenants, tenantId, entry);
    entry.endpoints.catch(() => this.tenants.delete(tenantId));
    return entry.endpoints;
  }

  /** One endpoint, at most a second old; null when it no longer exists. */
  async get(id: string): Promise<WebhookEndpoint | null> {
    const cached = this.byId.get(id);
    if (cached && Date.now() - cached.readAt < ENDPOINT_FRESH_MS) return cached.endpoint;
    const entry = { readAt: Date.now(), endpoint: this.store.get(id) };
    remember(this.byId, id, entry);
    entry.endpoint.catch(() => this.byId.delete(id));
    return entry.endpoint;
  }

  /** After this process changed an endpoint: the next lookup reads it again. */
  forget(endpoint: Pick<WebhookEndpoint, 'id' | 'tenantId'>): void {
    this.byId.delete(endpoint.id);
    this.tenants.delete(endpoint.tenantId);
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_CACHED) map.delete(map.keys().next().value as string);
}
