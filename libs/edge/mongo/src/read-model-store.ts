import pLimit from 'p-limit';
import type { Collection, Db } from 'mongodb';
import { eventsByMessage, messageKey, type MessageEvent } from '@herald/messages';
import { duplicateIndexes, isDuplicateKey } from './duplicate-keys';
import { pingMongo } from './mongo-client';
import {
  applyEvent,
  eventDocumentId,
  FEED_COLLECTION,
  FEED_INDEXES,
  feedFilter,
  LIST_SORT,
  listFilter,
  MESSAGE_INDEXES,
  toEventDocument,
  type EventDocument,
  type FeedDocument,
  type ListCursor,
  type ListQuery,
  type MessageDocument,
} from '@herald/read-model';

export const MESSAGES = 'messages';

/** An event a write applied: with what the metrics need of the document it changed. */
export interface AppliedEvent {
  event: MessageEvent;
  requestedAt: number | null;
  /** Whether this event made the message readable as sent (or delivered) for the first time. */
  firstSend: boolean;
}
export const EVENTS = 'events';

const OBSOLETE_INDEXES = [
  [MESSAGES, 'created'],
  [MESSAGES, 'status_created'],
  [MESSAGES, 'channel_created'],
  [MESSAGES, 'recipient_created'],
  [MESSAGES, 'provider_created'],
  [FEED_COLLECTION, 'recipient_created'],
] as const;

/** Reads and writes of one message before a refusal counts as lasting (see applyAll). */
const STORE_TRIES = 5;

/** Enough for every message in flight through one projector; each is a few hundred bytes. */
const KNOWN_DOCUMENTS = 20_000;

/**
 * The read model's two collections: the projector writes events into them, the read API
 * reads them. Writes are idempotent without transactions (FerretDB v1 has none):
 * event documents are keyed by message key and seq, so a replay inserts nothing new, and a message
 * document is replaced only if its seq is still the one it was read with (optimistic
 * concurrency), after applyEvent has ignored every event it already holds.
 *
 * A plain class (the projector's module provides it with its database), so the rebuild and
 * any other deployment can use it without Nest.
 */
export class ReadModelStore {
  readonly messages: Collection<MessageDocument>;
  readonly events: Collection<EventDocument>;
  /** Written by the in_app provider (sender), read here; not a projection, never rebuilt. */
  readonly feed: Collection<FeedDocument>;
  /** Reads in parallel, few enough to leave FerretDB's 100-connection pool to everyone else. */
  private readonly limit = pLimit(8);
  /** Documents as this writer last stored them, most recent last (a bounded LRU). */
  private readonly known = new Map<string, MessageDocument>();
  /** One write at a time (see write). */
  private readonly serial = pLimit(1);

  constructor(private readonly db: Db) {
    this.messages = db.collection<MessageDocument>(MESSAGES);
    this.events = db.collection<EventDocument>(EVENTS);
    this.feed = db.collection<FeedDocument>(FEED_COLLECTION);
  }

  /** Whether the server answers at all: tells a refused write from an unreachable server. */
  ping(): Promise<void> {
    return pingMongo(this.db);
  }

  /** A tenant's message; null when it has none by that id (another tenant's included). */
  message(tenantId: string, messageId: string): Promise<MessageDocument | null> {
    return this.messages.findOne({ _id: messageKey(tenantId, messageId) });
  }

  /**
   * A page of a tenant's messages, newest first: the query's limit plus one, so the caller can
   * tell whether a next page exists (toApiPage). The read API and the dashboard both list here.
   */
  list(tenantId: string, query: ListQuery): Promise<MessageDocument[]> {
    const { limit, ...filters } = query;
    return this.messages
      .find(listFilter({ ...filters, tenantId }))
      .sort(LIST_SORT)
      .limit(limit + 1)
      .toArray();
  }

  /**
   * How many of a tenant's messages are in each status. One $group over the tenant's documents
   * (FerretDB v1 runs $match and $group; it scans, which the dashboard's page budget allows at
   * the read model's size — see the README's dashboard timing).
   */
  async statusCounts(tenantId: string): Promise<Record<string, number>> {
    const groups = await this.messages
      .aggregate<{ _id: string; count: number }>([
        { $match: { tenantId } },
        { $group: { _id: '$status', count: { $sum: 1 } } },
      ])
      .toArray();
    return Object.fromEntries(groups.map((group) => [group._id, group.count]));
  }

  /** A page of a recipient's in-app feed, newest first, limit plus one like list. */
  feedPage(
    tenantId: string,
    recipient: string,
    page: { cursor?: ListCursor; limit: number },
  ): Promise<FeedDocument[]> {
    return this.feed
      .find(feedFilter(tenantId, recipient, page.cursor))
      .sort(LIST_SORT)
      .limit(page.limit + 1)
      .toArray();
  }

  /**
   * A message's events in seq order, fetched by their exact ids (key:1 … key:seq): what the
   * read API's timeline and logs are made of. FerretDB v1 answers any other filter with a full
   * scan of the collection, indexes or not; exact `_id` lookups stay fast there, and on
   * MongoDB too.
   */
  async timeline(message: MessageDocument): Promise<EventDocument[]> {
    const ids = Array.from({ length: message.seq }, (_, i) => eventDocumentId(message._id, i + 1));
    const docs = await Promise.all(ids.map((_id) => this.events.findOne({ _id })));
    return docs.filter((doc): doc is EventDocument => doc !== null);
  }

  async ensureIndexes(): Promise<void> {
    // Indexes of the read model before messages were keyed by tenant; a rebuild drops them with
    // the collections, and a projector started on an older database drops them here.
    for (const [collection, name] of OBSOLETE_INDEXES) {
      await this.db
        .collection(collection)
        .dropIndex(name)
        .catch(() => undefined);
    }
    for (const { name, key } of MESSAGE_INDEXES) await this.messages.createIndex(key, { name });
    for (const { name, key } of FEED_INDEXES) await this.feed.createIndex(key, { name });
  }

  /**
   * Applies events in their order per message. Returns the events this call applied (not
   * replays), for the projector's metrics.
   *
   * FerretDB v1's SQLite backend finds a document by _id with a scan of its whole table, so a
   * per-message read and replace costs time in proportion to the read model's size; inserts use
   * the unique index and are cheap in bulk. So this reads only what it must (documents it wrote
   * itself are remembered; a timeline starting at seq 1 is a new message), inserts every new
   * message in one insertMany, and replaces the others one by one. Anything that did not go as
   * assumed (a duplicate, a document moved on) is redone one message at a time.
   */
  write(events: readonly MessageEvent[]): Promise<AppliedEvent[]> {
    // One write at a time (a rebuild writes from several partitions at once): FerretDB runs one
    // writer at a time anyway, and concurrent updates there fail with SQLITE_BUSY.
    return this.serial(() => this.writeNow(events));
  }

  private async writeNow(events: readonly MessageEvent[]): Promise<AppliedEvent[]> {
    if (events.length === 0) return [];
    await this.insertEvents(events);
    const byMessage = eventsByMessage(events);

    const planned = await Promise.all(
      [...byMessage].map(([key, timeline]) =>
        this.limit(async () => fold(key, await this.lastKnown(key, timeline), timeline)),
      ),
    );
    const inserts = planned.filter((p) => p.next !== null && p.previous === null);
    const replaces = planned.filter((p) => p.next !== null && p.previous !== null);
    const redo = new Set<string>();

    if (inserts.length > 0) {
      const docs = inserts.map((p) => p.next!);
      let refused = new Set<number>();
      try {
        await this.messages.insertMany(docs, { ordered: false });
      } catch (error) {
        refused = new Set(duplicateIndexes(error, docs.length));
      }
      inserts.forEach((p, i) => (refused.has(i) ? redo.add(p.key) : this.remember(p.next!)));
    }

    // One at a time: FerretDB's SQLite backend takes one writer at a time anyway, and keeps a
    // connection per update of a bulk command open until the command ends, so a large bulkWrite
    // exhausts its connection pool and hangs the server.
    for (const p of replaces) {
      if (await this.store(p.previous, p.next!)) this.remember(p.next!);
      else redo.add(p.key);
    }

    const applied = planned.filter((p) => !redo.has(p.key)).flatMap((p) => p.applied);
    for (const key of redo) {
      this.known.delete(key);
      applied.push(...(await this.applyAll(key, byMessage.get(key)!)));
    }
    return applied;
  }

  /** The stored document as far as this writer knows it, reading only when it must. */
  private async lastKnown(
    key: string,
    timeline: readonly MessageEvent[],
  ): Promise<MessageDocument | null> {
    const known = this.known.get(key);
    if (known) return known;
    if (timeline[0]!.seq === 1) return null; // a new message; a replay's insert is refused
    return this.messages.findOne({ _id: key });
  }

  private remember(doc: MessageDocument): void {
    this.known.delete(doc._id);
    this.known.set(doc._id, doc);
    if (this.known.size > KNOWN_DOCUMENTS) {
      this.known.delete(this.known.keys().next().value!);
    }
  }

  private async insertEvents(events: readonly MessageEvent[]): Promise<void> {
    try {
      await this.events.insertMany(events.map(toEventDocument), { ordered: false });
    } catch (error) {
      duplicateIndexes(error, events.length); // replays are already there; rethrows the rest
    }
  }

  /** One message, reading its stored document first: the careful path. */
  private async applyAll(key: string, timeline: MessageEvent[]): Promise<AppliedEvent[]> {
    for (let tries = 1; ; tries += 1) {
      const current = await this.messages.findOne({ _id: key });
      const { next, applied } = fold(key, current, timeline);
      if (!next) return [];
      if (await this.store(current, next)) {
        this.remember(next);
        return applied;
      }
      // Another writer moved the document on between our read and write: read again. A
      // duplicate-key refusal that persists is another unique index refusing the document
      // (FerretDB does not say which index refused), which no rereading can fix.
      if (tries >= STORE_TRIES) {
        throw new Error(
          `message ${key}: its document was refused as a duplicate ${tries} times although no other writer changed it (a unique index other than _id?)`,
        );
      }
    }
  }

  private async store(previous: MessageDocument | null, next: MessageDocument): Promise<boolean> {
    if (!previous) {
      try {
        await this.messages.insertOne(next);
        return true;
      } catch (error) {
        if (isDuplicateKey(error)) return false;
        throw error;
      }
    }
    const result = await this.messages.replaceOne({ _id: next._id, seq: previous.seq }, next);
    return result.matchedCount === 1;
  }
}

interface Fold {
  /** The message's key, messageKey(tenantId, messageId): its document's _id. */
  key: string;
  previous: MessageDocument | null;
  /** The document after the timeline, or null when no event was new to it. */
  next: MessageDocument | null;
  applied: AppliedEvent[];
}

function fold(
  key: string,
  previous: MessageDocument | null,
  timeline: readonly MessageEvent[],
): Fold {
  let doc = previous;
  let changed = false;
  const applied: AppliedEvent[] = [];
  for (const event of timeline) {
    const sentBefore = doc?.sentAt ?? null;
    const result = applyEvent(doc, event);
    doc = result.doc;
    changed ||= result.applied;
    if (result.applied) {
      applied.push({
        event,
        requestedAt: doc.requestedAt,
        firstSend: sentBefore === null && doc.sentAt !== null,
      });
    }
  }
  return { key, previous, next: changed ? doc : null, applied };
}
