import pLimit from 'p-limit';
import type { Collection, Db } from 'mongodb';
import {
  applyDeliveryEvent,
  isAttempt,
  toAttemptDocument,
  attemptDocumentId,
  type AttemptDocument,
  type DeliveryDocument,
  type WebhookDeliveryEvent,
} from '@herald/webhooks';

export const WEBHOOK_DELIVERIES = 'webhook_deliveries';
export const WEBHOOK_ATTEMPTS = 'webhook_attempts';

/**
 * The deliveries projection (herald.webhook-delivery-events → MongoDB). Idempotent without
 * transactions: an attempt document's `_id` is its delivery and seq, and a delivery document
 * folds only events past its seq, so a replay changes nothing. A delivery's events all come
 * from one partition (they are keyed by endpoint), so one writer at a time folds each.
 */
export class WebhookDeliveryStore {
  readonly deliveries: Collection<DeliveryDocument>;
  readonly attempts: Collection<AttemptDocument>;
  private readonly limit = pLimit(8);

  constructor(db: Db) {
    this.deliveries = db.collection<DeliveryDocument>(WEBHOOK_DELIVERIES);
    this.attempts = db.collection<AttemptDocument>(WEBHOOK_ATTEMPTS);
  }

  /** Applies a batch of events, in their order. */
  async write(events: readonly WebhookDeliveryEvent[]): Promise<void> {
    const byDelivery = new Map<string, WebhookDeliveryEvent[]>();
    for (const event of events) {
      if (event.deliveryId === null) continue;
      const list = byDelivery.get(event.deliveryId);
      if (list) list.push(event);
      else byDelivery.set(event.deliveryId, [event]);
    }
    await Promise.all(
      [...byDelivery].map(([deliveryId, list]) => this.limit(() => this.fold(deliveryId, list))),
    );
  }

  private async fold(deliveryId: string, events: WebhookDeliveryEvent[]): Promise<void> {
    for (const event of events.filter(isAttempt)) {
      const doc = toAttemptDocument(event);
      await this.attempts.replaceOne({ _id: doc._id }, doc, { upsert: true });
    }
    const before = await this.deliveries.findOne({ _id: deliveryId });
    let doc = before;
    for (const event of events) doc = applyDeliveryEvent(doc, event);
    if (doc && doc !== before)
      await this.deliveries.replaceOne({ _id: deliveryId }, doc, { upsert: true });
  }

  /** The endpoint's deliveries, newest first. */
  async ofEndpoint(
    endpointId: string,
    filter: { status?: string; since?: number; limit: number },
  ): Promise<DeliveryDocument[]> {
    return this.deliveries
      .find({
        endpointId,
        ...(filter.status ? { status: filter.status as DeliveryDocument['status'] } : {}),
        ...(filter.since !== undefined ? { createdAt: { $gte: filter.since } } : {}),
      })
      .sort({ createdAt: -1, _id: -1 })
      .limit(filter.limit)
      .toArray();
  }

  get(deliveryId: string): Promise<DeliveryDocument | null> {
    return this.deliveries.findOne({ _id: deliveryId });
  }

  /** Its attempts in order, fetched by exact ids (FerretDB v1 scans for any other filter). */
  async attemptsOf(delivery: DeliveryDocument): Promise<AttemptDocument[]> {
    const ids = Array.from({ length: delivery.seq }, (_, i) =>
      attemptDocumentId(delivery._id, i + 1),
    );
    const docs = await Promise.all(
      ids.map((_id) => this.limit(() => this.attempts.findOne({ _id }))),
    );
    return docs.filter((doc): doc is AttemptDocument => doc !== null);
  }
}
