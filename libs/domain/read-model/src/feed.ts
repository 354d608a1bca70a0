/**
 * The in-app channel's store: one document per message delivered to a recipient's feed. It is
 * delivered data, not a projection of events (the events never carry content), so rebuilding
 * the read model leaves it alone. Paged newest first like the message list.
 */

import { messageKey } from '@herald/messages';
import { iso } from './api-shapes';
import type { StoredPair } from './stored-values';
import { fromPairs, storableText, toPairs } from './stored-values';
import { encodeCursor, type ListCursor, type ListFilterInput, listFilter } from './list-query';

export const FEED_COLLECTION = 'in_app_feed';

export interface FeedDocument {
  /** messageKey(tenantId, messageId): a redelivered message is a duplicate key, so it shows once. */
  _id: string;
  messageId: string;
  tenantId: string;
  recipient: string;
  content: StoredPair[];
  metadata: StoredPair[];
  createdAt: number;
}

/** A feed is one tenant's recipient: both lead the index, then the sort key. */
export const FEED_INDEXES = [
  {
    name: 'tenant_recipient_created',
    key: { tenantId: 1, recipient: 1, createdAt: -1, _id: -1 },
  },
] as const;

export interface ApiFeedItem {
  id: string;
  tenantId: string;
  recipient: string;
  content: Record<string, string>;
  metadata: Record<string, string>;
  createdAt: string | null;
}

export function toFeedDocument(item: {
  messageId: string;
  tenantId: string;
  recipient: string;
  content: Record<string, string>;
  metadata: Record<string, string>;
  createdAt: number;
}): FeedDocument {
  return {
    _id: messageKey(item.tenantId, item.messageId),
    messageId: item.messageId,
    tenantId: item.tenantId,
    recipient: storableText(item.recipient),
    content: toPairs(item.content),
    metadata: toPairs(item.metadata),
    createdAt: item.createdAt,
  };
}

/** One tenant's recipient's feed items, after the cursor when there is one. */
export function feedFilter(
  tenantId: string,
  recipient: string,
  cursor?: ListCursor,
): Record<string, unknown> {
  const filter: ListFilterInput = { tenantId, recipient };
  if (cursor) filter.cursor = cursor;
  return listFilter(filter);
}

export function toApiFeedPage(
  docs: readonly FeedDocument[],
  limit: number,
): { items: ApiFeedItem[]; nextCursor: string | null } {
  const page = docs.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map((doc) => ({
      // Items stored before feed items were keyed by tenant have no messageId: their _id is it.
      id: (doc.messageId as string | undefined) ?? doc._id,
      tenantId: doc.tenantId,
      recipient: doc.recipient,
      content: fromPairs(doc.content),
      metadata: fromPairs(doc.metadata),
      createdAt: iso(doc.createdAt),
    })),
    nextCursor:
      docs.length > limit && last
        ? encodeCursor({ createdAt: last.createdAt, id: last._id })
        : null,
  };
}
