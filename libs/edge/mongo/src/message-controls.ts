import type { Collection, Db } from 'mongodb';
import type { MessageControl } from '@herald/decisions';
import { GroupCommit } from '@herald/kafka';
import { messageKey, type MessageEvent } from '@herald/messages';
import { isDuplicateKey } from './duplicate-keys';

/**
 * A message's control: the arbiter between the API (cancel, resend) and whoever holds the
 * message's task. There is a document only for messages that were canceled or resent, so the
 * collection stays small (FerretDB v1 scans a whole collection per query).
 */
export interface ControlDocument extends MessageControl {
  /** messageKey(tenantId, messageId). */
  _id: string;
  tenantId: string;
  messageId: string;
  /** The `canceled` event the API wrote itself, kept until it is known to be in Kafka. */
  event: MessageEvent | null;
  /** false between the API's claim and its event reaching Kafka. */
  emitted: boolean;
  /** The Idempotency-Key values resends were asked with: a repeated key resends once. */
  idempotencyKeys: string[];
  updatedAt: number;
}

/**
 * Claims are compare-and-set upserts: the filter names the state the writer saw, and when
 * another writer changed it first, the upsert's insert collides with the existing `_id`
 * (a duplicate key), which both MongoDB and FerretDB v1 report the same way.
 */
export class MessageControls {
  private readonly controls: Collection<ControlDocument>;
  // The sender reads the control of every task it is about to attempt: one find per group.
  private readonly reads = new GroupCommit<string, ControlDocument | null>((keys) =>
    this.readMany(keys),
  );

  constructor(db: Db) {
    this.controls = db.collection<ControlDocument>('message_controls');
  }

  get(tenantId: string, messageId: string): Promise<ControlDocument | null> {
    return this.reads.submit(messageKey(tenantId, messageId));
  }

  /**
   * Asks whoever holds the message's task to cancel it. 'already_canceled' when the API
   * itself already wrote the message's `canceled`.
   */
  async requestCancel(
    tenantId: string,
    messageId: string,
    now: number,
  ): Promise<'requested' | 'already_canceled'> {
    try {
      await this.controls.updateOne(
        { _id: messageKey(tenantId, messageId), state: { $ne: 'canceled' } },
        {
          $set: { state: 'cancel_requested', updatedAt: now },
          $setOnInsert: {
            tenantId,
            messageId,
            seq: 0,
            event: null,
            emitted: true,
            idempotencyKeys: [],
          },
        },
        { upsert: true },
      );
      return 'requested';
    } catch (error) {
      if (isDuplicateKey(error)) return 'already_canceled';
      throw error;
    }
  }

  /**
   * Claims `seq` for the API's own event (a `canceled` or a `resend_requested`): true when no
   * claim at or past it existed, false when another writer got there first.
   */
  async claim(
    tenantId: string,
    messageId: string,
    claim: {
      state: 'canceled' | 'resent';
      seq: number;
      event: MessageEvent | null;
      idempotencyKey: string | null;
    },
    now: number,
  ): Promise<boolean> {
    try {
      await this.controls.updateOne(
        { _id: messageKey(tenantId, messageId), seq: { $lt: claim.seq } },
        {
          $set: {
            state: claim.state,
            seq: claim.seq,
            event: claim.event,
            emitted: false,
            updatedAt: now,
          },
          ...(claim.idempotencyKey === null
            ? { $setOnInsert: { tenantId, messageId, idempotencyKeys: [] } }
            : {
                $setOnInsert: { tenantId, messageId },
                $addToSet: { idempotencyKeys: claim.idempotencyKey },
              }),
        },
        { upsert: true },
      );
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  /** The claimed event is in Kafka: a sender dropping a stale task need not write it again. */
  async markEmitted(tenantId: string, messageId: string, seq: number): Promise<void> {
    await this.controls.updateOne(
      { _id: messageKey(tenantId, messageId), seq },
      { $set: { emitted: true, event: null } },
    );
  }

  /** Read directly (not batched): for the API. */
  find(tenantId: string, messageId: string): Promise<ControlDocument | null> {
    return this.controls.findOne({ _id: messageKey(tenantId, messageId) });
  }

  private async readMany(keys: string[]): Promise<Array<ControlDocument | null>> {
    const found = await this.controls.find({ _id: { $in: [...new Set(keys)] } }).toArray();
    const byKey = new Map(found.map((control) => [control._id, control]));
    return keys.map((key) => byKey.get(key) ?? null);
  }
}
