import { messageKey, type MessageEvent } from '@herald/messages';
import type { ReadModelStore } from '@herald/mongo';
import { applyEvent, type MessageDocument } from '@herald/read-model';

/** Messages whose state is kept between their events (a few hundred bytes each). */
const MAX_KNOWN = 20_000;

/**
 * A message's state after an event, as the read API would show it: the payload's `data`.
 * Folded here from the events the fan-out sees (all of a message's events are on one
 * partition, in order), so it never waits for the projector nor reads MongoDB (a read by `_id`
 * scans the collection on FerretDB v1); only a message first seen mid-life (after a restart,
 * or an endpoint created since) starts from the read model's document.
 * Callers take events one at a time, in partition order.
 */
export class MessageStates {
  private readonly known = new Map<string, MessageDocument>();

  constructor(private readonly readModel: ReadModelStore) {}

  async after(event: MessageEvent): Promise<MessageDocument> {
    const key = messageKey(event.tenantId, event.messageId);
    let doc = this.known.get(key) ?? null;
    if (event.seq > 1 && (doc === null || doc.seq < event.seq - 1)) {
      const stored = await this.readModel.messages.findOne({ _id: key });
      if (stored && stored.seq > (doc?.seq ?? 0)) doc = stored;
    }
    // A replay of an event already folded: the state it led to is no longer known exactly,
    // and the nearest is the latest.
    const next = doc && doc.seq >= event.seq ? doc : applyEvent(doc, event).doc;
    this.known.delete(key);
    this.known.set(key, next);
    if (this.known.size > MAX_KNOWN) this.known.delete(this.known.keys().next().value as string);
    return next;
  }
}
