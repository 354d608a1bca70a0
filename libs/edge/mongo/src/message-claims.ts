import type { Collection, Db } from 'mongodb';
import { duplicateIndexes } from './duplicate-keys';
import { GroupCommit } from '@herald/kafka';
import { messageKey, type MessageRequested } from '@herald/messages';

/** Where the record that claimed an id is: what a resend reads back to send it again. */
export interface ClaimSource {
  topic: string;
  partition: number;
  offset: string;
}

interface Claim {
  /** messageKey(tenantId, messageId): idempotency is per tenant. */
  _id: string;
  /** topic/partition/offset of the record that claimed the id. */
  source: string;
  claimedAt: number;
}

export type ClaimResult = 'first' | 'redelivery' | 'duplicate';

/**
 * (tenantId, messageId) is the idempotency key, so one tenant can never claim another's id.
 * The first record to carry an id claims it (a unique _id,
 * so two ingest instances racing on the same id cannot both win); the same record seen again
 * after a crash is a redelivery and is processed again (its earlier transaction never
 * committed); any other record with that id is a duplicate and is ignored.
 *
 * Claims made while a write is in flight are grouped into the next one (GroupCommit): a single
 * insertMany costs about what a single insertOne does, and FerretDB's SQLite backend serialises
 * writes, so one write per record would cap ingest at a few dozen records a second.
 */
export class MessageClaims {
  private readonly claims: Collection<Claim>;
  private readonly writes = new GroupCommit<Claim, ClaimResult>((claims) => this.write(claims));

  constructor(db: Db) {
    this.claims = db.collection<Claim>('message_claims');
  }

  claim(request: MessageRequested, source: string, now: number): Promise<ClaimResult> {
    return this.writes.submit({
      _id: messageKey(request.tenantId, request.messageId),
      source,
      claimedAt: now,
    });
  }

  async isClaimed(tenantId: string, messageId: string): Promise<boolean> {
    const claim = await this.claims.findOne(
      { _id: messageKey(tenantId, messageId) },
      { projection: { _id: 1 } },
    );
    return claim !== null;
  }

  /**
   * Where the request that claimed the id is on Kafka; null when nobody claimed it. The request
   * itself stays in Kafka only: it carries the unredacted recipient and content, which never
   * reach MongoDB.
   */
  async source(tenantId: string, messageId: string): Promise<ClaimSource | null> {
    const claim = await this.claims.findOne({ _id: messageKey(tenantId, messageId) });
    const match = claim ? /^(.+)\/(\d+)\/(\d+)$/.exec(claim.source) : null;
    return match ? { topic: match[1]!, partition: Number(match[2]), offset: match[3]! } : null;
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
