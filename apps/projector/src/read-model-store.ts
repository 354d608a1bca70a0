import { Inject, Injectable } from '@nestjs/common';
import pLimit from 'p-limit';
import type { Collection, Db } from 'mongodb';
import type { MessageEvent } from '@herald/messages';
import { MONGO_DB } from '@herald/platform';
import {
  applyEvent,
  FEED_COLLECTION,
  FEED_INDEXES,
  MESSAGE_INDEXES,
  toEventDocument,
  type EventDocument,
  type FeedDocument,
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

/**
 * The read model's two collections: the projector writes events into them, the read API
 * reads them. Writes are idempotent without transactions (FerretDB v1 has none):
 * event documents are keyed messageId:seq, so a replay inserts nothing new, and a message
 * document is replaced only if its seq is still the one it was read with (optimistic
 * concurrency), after applyEvent has ignored every event it already holds.
 */
@Injectable()
export class ReadModelStore {
  readonly messages: Collection<MessageDocument>;
  readonly events: Collection<EventDocument>;
  /** Written by the in_app provider (sender), read here; not a projection, never rebuilt. */
  readonly feed: Collection<FeedDocument>;
  private readonly limit = pLimit(64);

  constructor(@Inject(MONGO_DB) db: Db) {
    this.messages = db.collection<MessageDocument>(MESSAGES);
    this.events = db.collection<EventDocument>(EVENTS);
    this.feed = db.collection<FeedDocument>(FEED_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    for (const { name, key } of MESSAGE_INDEXES) await this.messages.createIndex(key, { name });
    for (const { name, key } of FEED_INDEXES) await this.feed.createIndex(key, { name });
  }

  /**
   * Applies events in their order per message; messages are independent and go in parallel.
   * Returns the events this call applied (not replays), for the projector's metrics.
   */
  async write(events: readonly MessageEvent[]): Promise<AppliedEvent[]> {
    if (events.length === 0) return [];
    await this.insertEvents(events);
    const byMessage = new Map<string, MessageEvent[]>();
    for (const event of events) {
      const list = byMessage.get(event.messageId) ?? [];
      list.push(event);
      byMessage.set(event.messageId, list);
    }
    const applied = await Promise.all(
      [...byMessage].map(([messageId, timeline]) =>
        this.limit(() => this.applyAll(messageId, timeline)),
      ),
    );
    return applied.flat();
  }

  private async insertEvents(events: readonly MessageEvent[]): Promise<void> {
    try {
      await this.events.insertMany(events.map(toEventDocument), { ordered: false });
    } catch (error) {
      if (!onlyDuplicates(error)) throw error;
    }
  }

  private async applyAll(messageId: string, timeline: MessageEvent[]): Promise<AppliedEvent[]> {
    for (;;) {
      const current = await this.messages.findOne({ _id: messageId });
      let doc = current;
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
      if (!changed || !doc) return [];
      if (await this.store(current, doc)) return applied;
      // Another writer moved the document on between our read and write: read again.
    }
  }

  private async store(previous: MessageDocument | null, next: MessageDocument): Promise<boolean> {
    if (!previous) {
      try {
        await this.messages.insertOne(next);
        return true;
      } catch (error) {
        if ((error as { code?: number }).code === 11000) return false;
        throw error;
      }
    }
    const result = await this.messages.replaceOne({ _id: next._id, seq: previous.seq }, next);
    return result.matchedCount === 1;
  }
}

function onlyDuplicates(error: unknown): boolean {
  const e = error as { code?: number; writeErrors?: { code?: number }[] | { code?: number } };
  if (e.code === 11000 && e.writeErrors === undefined) return true;
  const writeErrors = Array.isArray(e.writeErrors)
    ? e.writeErrors
    : e.writeErrors
      ? [e.writeErrors]
      : [];
  return writeErrors.length > 0 && writeErrors.every((w) => w.code === 11000);
}
