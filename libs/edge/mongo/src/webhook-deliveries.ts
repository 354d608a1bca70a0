import { createHash } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import {
  isAttempt,
  latestSnapshots,
  nextSnapshot,
  type DeliverySnapshot,
  type WebhookDeliveryEvent,
} from '@herald/webhooks';
import { duplicateIndexes } from './duplicate-keys';

/** A delivery with what the API shows of it and what a resend needs. */
export interface DeliveryHistory {
  latest: DeliverySnapshot;
  payload: string | null;
  attempts: DeliverySnapshot[];
}

/** Each endpoint's deliveries are in their own collection, named with this prefix. */
export const WEBHOOK_DELIVERIES_PREFIX = 'webhook_deliveries_';

/** Deliveries whose latest snapshot this writer remembers, so it need not read them back. */
const KNOWN_DELIVERIES = 20_000;

/**
 * The collection of one endpoint's delivery snapshots. An endpoint id Herald made (`ep_` and
 * hex) is used as it is; anything else (a forged event's) is hashed into a safe name.
 */
export function deliveriesCollectionName(endpointId: string): string {
  const safe = /^[A-Za-z0-9_]{1,64}$/.test(endpointId)
    ? endpointId
    : `h_${createHash('sha256').update(endpointId).digest('hex').slice(0, 40)}`;
  return `${WEBHOOK_DELIVERIES_PREFIX}${safe}`;
}

/**
 * The deliveries projection (herald.webhook-delivery-events → MongoDB), as insert-only
 * snapshots (see DeliverySnapshot), one collection per endpoint: FerretDB v1 scans a whole
 * collection for every query, so the deliveries API and the writer's read-backs cost what one
 * endpoint's history holds, not everyone's. A replayed event inserts a snapshot that is already
 * there, a duplicate-key no-op. A delivery's events all come from one partition (they are keyed
 * by endpoint), so one writer at a time folds each; the writer remembers the latest snapshot of
 * the deliveries it wrote and reads one back only after a restart or a rebalance.
 */
export class WebhookDeliveryStore {
  private readonly known = new Map<string, DeliverySnapshot>();

  constructor(private readonly db: Db) {}

  snapshotsOf(endpointId: string): Collection<DeliverySnapshot> {
    return this.db.collection<DeliverySnapshot>(deliveriesCollectionName(endpointId));
  }

  /** Applies a batch of events, in their order. */
  async write(events: readonly WebhookDeliveryEvent[]): Promise<void> {
    const byEndpoint = new Map<string, WebhookDeliveryEvent[]>();
    for (const event of events) {
      if (event.deliveryId === null) continue;
      const list = byEndpoint.get(event.endpointId);
      if (list) list.push(event);
      else byEndpoint.set(event.endpointId, [event]);
    }
    for (const [endpointId, list] of byEndpoint) await this.writeEndpoint(endpointId, list);
  }

  private async writeEndpoint(endpointId: string, events: WebhookDeliveryEvent[]): Promise<void> {
    const snapshots = this.snapshotsOf(endpointId);
    const fresh: DeliverySnapshot[] = [];
    const latest = new Map<string, DeliverySnapshot | null>();
    // Deliveries this writer has not seen since it started are read back in one query.
    const unknown = new Set<string>();
    for (const event of events) {
      const id = event.deliveryId!;
      if (event.seq > 1 && !this.known.has(id)) unknown.add(id);
    }
    if (unknown.size > 0) {
      const stored = await snapshots.find({ deliveryId: { $in: [...unknown] } }).toArray();
      for (const snapshot of latestSnapshots(stored)) latest.set(snapshot.deliveryId, snapshot);
    }
    for (const event of events) {
      const id = event.deliveryId!;
      const previous = latest.get(id) ?? this.known.get(id) ?? null;
      const next = nextSnapshot(previous, event);
      if (next) fresh.push(next);
      latest.set(id, next ?? previous);
    }
    if (fresh.length > 0) {
      await snapshots.insertMany(fresh, { ordered: false }).catch((error: unknown) => {
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

  /**
   * One delivery from one read of its snapshots: as it stands now, the body it was created
   * with (kept on its first snapshot), and its attempts in order; null when there is none.
   */
  async history(endpointId: string, deliveryId: string): Promise<DeliveryHistory | null> {
    const snapshots = await this.snapshotsOf(endpointId).find({ deliveryId }).toArray();
    const [latest] = latestSnapshots(snapshots);
    if (!latest) return null;
    return {
      latest,
      payload: snapshots.find((snapshot) => snapshot.seq === 1)?.payload ?? null,
      attempts: snapshots
        .filter((snapshot) => isAttempt(snapshot.last))
        .sort((a, b) => a.seq - b.seq),
    };
  }

  /**
   * The newest `limit` failed deliveries of the tenant's endpoint created at or after `since`,
   * each with its body, from one read (what recover sends again).
   */
  async failedSince(
    tenantId: string,
    endpointId: string,
    since: number,
    limit: number,
  ): Promise<{ delivery: DeliverySnapshot; payload: string }[]> {
    const snapshots = await this.snapshotsOf(endpointId)
      .find({ createdAt: { $gte: since } })
      .toArray();
    const payloads = new Map(
      snapshots.flatMap((s) =>
        s.seq === 1 && s.payload !== null ? [[s.deliveryId, s.payload]] : [],
      ),
    );
    return newestFirst(latestSnapshots(snapshots))
      .flatMap((delivery) => {
        const payload = payloads.get(delivery.deliveryId);
        return delivery.status === 'failed' &&
          delivery.tenantId === tenantId &&
          payload !== undefined
          ? [{ delivery, payload }]
          : [];
      })
      .slice(0, limit);
  }

  /** The endpoint's deliveries as they stand, newest first. */
  async ofEndpoint(
    endpointId: string,
    filter: { status?: string; limit: number },
  ): Promise<DeliverySnapshot[]> {
    const snapshots = await this.snapshotsOf(endpointId).find().toArray();
    return newestFirst(
      latestSnapshots(snapshots).filter(
        (delivery) => filter.status === undefined || delivery.status === filter.status,
      ),
    ).slice(0, filter.limit);
  }

  /** Drops every endpoint's deliveries (the rebuild). */
  async dropAll(): Promise<void> {
    const collections = await this.db.listCollections({}, { nameOnly: true }).toArray();
    for (const { name } of collections) {
      if (name.startsWith(WEBHOOK_DELIVERIES_PREFIX)) await this.db.collection(name).drop();
    }
    this.known.clear();
  }
}

function newestFirst(deliveries: DeliverySnapshot[]): DeliverySnapshot[] {
  return deliveries.sort(
    (a, b) => b.createdAt - a.createdAt || (a.deliveryId < b.deliveryId ? 1 : -1),
  );
}
