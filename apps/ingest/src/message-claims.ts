import type { Collection, Db } from 'mongodb';
import { duplicateIndexes } from '@herald/mongo';

interface Claim {
  _id: string;
  /** topic/partition/offset of the record that claimed the id. */
  source: string;
  claimedAt: number;
}

export type ClaimResult = 'first' | 'redelivery' | 'duplicate';

interface PendingClaim {
  claim: Claim;
  resolve: (result: ClaimResult) => void;
  reject: (error: unknown) => void;
}

/**
 * messageId is the idempotency key. The first record to carry an id claims it (a unique _id,
 * so two ingest instances racing on the same id cannot both win); the same record seen again
 * after a crash is a redelivery and is processed again (its earlier transaction never
 * committed); any other record with that id is a duplicate and is ignored.
 *
 * Claims made while a write is in flight are grouped into the next one: a single insertMany
 * costs about what a single insertOne does, and FerretDB's SQLite backend serialises writes, so
 * one write per record would cap ingest at a few dozen records a second.
 */
export class MessageClaims {
  private readonly claims: Collection<Claim>;
  private queue: PendingClaim[] = [];
  private writing = false;

  constructor(db: Db) {
    this.claims = db.collection<Claim>('message_claims');
  }

  claim(messageId: string, source: string, now: number): Promise<ClaimResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ claim: { _id: messageId, source, claimedAt: now }, resolve, reject });
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const group = this.queue;
        this.queue = [];
        try {
          const results = await this.write(group.map((pending) => pending.claim));
          group.forEach((pending, i) => pending.resolve(results[i]!));
        } catch (error) {
          for (const pending of group) pending.reject(error);
        }
      }
    } finally {
      this.writing = false;
    }
  }

  private async write(claims: Claim[]): Promise<ClaimResult[]> {
    const taken = new Set<number>();
    try {
      await this.claims.insertMany(claims, { ordered: false });
    } catch (error) {
      for (const index of duplicateIndexes(error, claims.length)) taken.add(index);
    }
    return Promise.all(
      claims.map(async (claim, i): Promise<ClaimResult> => {
        if (!taken.has(i)) return 'first';
        const existing = await this.claims.findOne({ _id: claim._id });
        return existing?.source === claim.source ? 'redelivery' : 'duplicate';
      }),
    );
  }
}
