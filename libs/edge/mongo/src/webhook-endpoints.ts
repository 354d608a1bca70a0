import type { Collection, Db } from 'mongodb';
import type { EndpointSecret, WebhookEndpoint } from '@herald/webhooks';

export const WEBHOOK_ENDPOINTS = 'webhook_endpoints';

type EndpointDocument = Omit<WebhookEndpoint, 'id'> & { _id: string };

function fromDocument({ _id, ...rest }: EndpointDocument): WebhookEndpoint {
  return { id: _id, ...rest };
}

/**
 * Tenants' webhook endpoints. Configuration rather than facts, like API keys: kept in MongoDB
 * (read-your-writes for the API, secrets never on a topic every consumer of the cluster can
 * read), so a rebuild of the read model neither drops nor needs to reproduce them. Lookups are
 * by exact `_id` or by tenant; a tenant has a handful of endpoints.
 */
export class WebhookEndpointStore {
  readonly endpoints: Collection<EndpointDocument>;

  constructor(db: Db) {
    this.endpoints = db.collection<EndpointDocument>(WEBHOOK_ENDPOINTS);
  }

  async create(endpoint: WebhookEndpoint): Promise<void> {
    const { id, ...rest } = endpoint;
    await this.endpoints.insertOne({ _id: id, ...rest });
  }

  async get(id: string): Promise<WebhookEndpoint | null> {
    const doc = await this.endpoints.findOne({ _id: id });
    return doc ? fromDocument(doc) : null;
  }

  /** The tenant's endpoint, or null when it has none by that id (another tenant's included). */
  async getOfTenant(tenantId: string, id: string): Promise<WebhookEndpoint | null> {
    const endpoint = await this.get(id);
    return endpoint && endpoint.tenantId === tenantId ? endpoint : null;
  }

  async ofTenant(tenantId: string): Promise<WebhookEndpoint[]> {
    const docs = await this.endpoints.find({ tenantId }).toArray();
    return docs
      .map(fromDocument)
      .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
  }

  async update(
    tenantId: string,
    id: string,
    changes: Partial<Omit<WebhookEndpoint, 'id' | 'tenantId' | 'createdAt'>>,
  ): Promise<WebhookEndpoint | null> {
    const result = await this.endpoints.findOneAndUpdate(
      { _id: id, tenantId },
      { $set: changes },
      { returnDocument: 'after' },
    );
    return result ? fromDocument(result) : null;
  }

  async setSecrets(tenantId: string, id: string, secrets: EndpointSecret[], now: number) {
    return this.update(tenantId, id, { secrets, updatedAt: now });
  }

  async delete(tenantId: string, id: string): Promise<boolean> {
    const result = await this.endpoints.deleteOne({ _id: id, tenantId });
    return result.deletedCount === 1;
  }

  /** The start of a run of failures, kept if one is already running (idempotent). */
  async markFailing(id: string, since: number): Promise<void> {
    await this.endpoints.updateOne(
      { _id: id, failingSince: null },
      { $set: { failingSince: since } },
    );
  }

  async markHealthy(id: string): Promise<void> {
    await this.endpoints.updateOne(
      { _id: id, failingSince: { $ne: null } },
      { $set: { failingSince: null } },
    );
  }

  /** Disables it unless it already is: true when this call disabled it. */
  async disable(id: string, reason: string, now: number): Promise<boolean> {
    const result = await this.endpoints.updateOne(
      { _id: id, enabled: true },
      { $set: { enabled: false, disabledReason: reason, disabledAt: now, updatedAt: now } },
    );
    return result.modifiedCount === 1;
  }
}
