import type { Collection, Db } from 'mongodb';
import {
  isAttempt,
  latestSnapshots,
  nextSnapshot,
  snapshotId,
  type DeliverySnapshot,
  type WebhookDeliveryEvent,
} from '@herald/webhooks';
import { duplicateIndexes } from './duplicate-keys';

export const WEBHOOK_DELIVERIES = 'webhook_deliveries';

/** Deliveries whose latest snapshot this writer remembers, so it need not read them back. */
const KNOWN_DELIVERIES = 20_000;

/**
 * The deliveries projection (herald.webhook-delivery-events → MongoDB), as insert-only
 * snapshots (see DeliverySnapshot): a replayed event inserts a snapshot that is already there,
 * a duplicate-key no-op. A delivery's events all come from one partition (they are keyed by
 * endpoint), so one writer at a time folds each; the writer remembers the latest snapshot of
 * the deliveries it wrote and reads one back only after a restart or a rebalance.
 */
export class WebhookDeliveryStore {
  readonly snapshots: Collection<DeliverySnapshot>;
  private readonly known = new Map<string, DeliverySnapshot>();

  constructor(db: Db) {
    this.snapshots = db.collection<DeliverySnapshot>(WEBHOOK_DELIVERIES);
  }

  /** For MongoDB's reads; FerretDB v1 keeps them for uniqueness only (README). */
  async ensureIndexes(): Promise<void> {
    await this.snapshots.createIndex(
      { endpointId: 1, createdAt: -1 },
      { name: 'endpoint_created' },
    );
    await this.snapshots.createIndex({ deliveryId: 1, seq: -1 }, { name: 'delivery_seq' });
  }

  /** Applies a batch of events, in their order. */
  async write(events: readonly WebhookDeliveryEvent[]): Promise<void> {
    const fresh: DeliverySnapshot[] = [];
    const latest = new Map<string, DeliverySnapshot | null>();
    // Deliveries this writer has not seen since it started are read back in one query.
    const unknown = new Set<string>();
    for (const event of events) {
      const id = event.deliveryId;
      if (id !== null && event.seq > 1 && !this.known.has(id)) unknown.add(id);
    }
    if (unknown.size > 0) {
      const stored = await this.snapshots.find({ deliveryId: { $in: [...unknown] } }).toArray();
      for (const snapshot of latestSnapshots(stored)) latest.set(snapshot.deliveryId, snapshot);
    }
    for (const event of events) {
      if (event.deliveryId === null) continue;
      const previous = latest.get(event.deliveryId) ?? this.known.get(event.deliveryId) ?? null;
      const next = nextSnapshot(previous, event);
      if (next) fresh.push(next);
      latest.set(event.deliveryId, next ?? previous);
    }
    if (fresh.length > 0) {
      await this.snapshots.insertMany(fresh, { ordered: false }).catch((error: unknown) => {
        // Replays: the snapshot is there already. Anything else is rethrown.
        duplicateIndexes(error, fresh.length);
      });
    }
    for (const [id, snapshot] of latest) {
      if (!snapshot) continue;
      this.known.delete(id);
      this.known.set(id, snapshot);
    }
    while (this.known.size > KNOWN_DELIVERIES) {
      this.known.delete(this.known.keys().next().value as string);
    }
  }

  /** A delivery as it stands now, or null. */
  async latest(deliveryId: string): Promise<DeliverySnapshot | null> {
    const [snapshot] = await this.snapshots
      .find({ deliveryId })
      .sort({ seq: -1 })
      .limit(1)
      .toArray();
    return snapshot ?? null;
  }

  /** The body a delivery was created with (kept on its first snapshot), or null. */
  async payloadOf(deliveryId: string): Promise<string | null> {
    const first = await this.snapshots.findOne({ _id: snapshotId(deliveryId, 1) });
    return first?.payload ?? null;
  }

  /** The endpoint's deliveries as they stand, newest first. */
  async ofEndpoint(
    endpointId: string,
    filter: { status?: string; since?: number; limit: number },
  ): Promise<DeliverySnapshot[]> {
    const snapshots = await this.snapshots
      .find({
        endpointId,
        ...(filter.since !== undefined ? { createdAt: { $gte: filter.since } } : {}),
      })
      .toArray();
    return latestSnapshots(snapshots)
      .filter((delivery) => filter.status === undefined || delivery.status === filter.status)
      .sort((a, b) => b.createdAt - a.createdAt || (a.deliveryId < b.deliveryId ? 1 : -1))
      .slice(0, filter.limit);
  }

  /** Its attempts, in order. */
  async attemptsOf(deliveryId: string): Promise<DeliverySnapshot[]> {
    const snapshots = await this.snapshots.find({ deliveryId }).sort({ seq: 1 }).toArray();
    return snapshots.filter((snapshot) => isAttempt(snapshot.last));
  }
}
