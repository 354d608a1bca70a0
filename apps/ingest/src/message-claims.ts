import type { Collection, Db } from 'mongodb';

interface Claim {
  _id: string;
  /** topic/partition/offset of the record that claimed the id. */
  source: string;
  claimedAt: number;
}

export type ClaimResult = 'first' | 'redelivery' | 'duplicate';

/**
 * messageId is the idempotency key. The first record to carry an id claims it (a unique _id,
 * so two ingest instances racing on the same id cannot both win); the same record seen again
 * after a crash is a redelivery and is processed again (its earlier transaction never
 * committed); any other record with that id is a duplicate and is ignored.
 */
export class MessageClaims {
  private readonly claims: Collection<Claim>;

  constructor(db: Db) {
    this.claims = db.collection<Claim>('message_claims');
  }

  async claim(messageId: string, source: string, now: number): Promise<ClaimResult> {
    try {
      await this.claims.insertOne({ _id: messageId, source, claimedAt: now });
      return 'first';
    } catch (error) {
      if ((error as { code?: number }).code !== 11000) throw error;
      const existing = await this.claims.findOne({ _id: messageId });
      return existing?.source === source ? 'redelivery' : 'duplicate';
    }
  }
}
