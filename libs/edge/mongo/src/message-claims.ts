import type { Collection, Db } from 'mongodb';
import { duplicateIndexes } from './duplicate-keys';
import { GroupCommit } from '@herald/kafka';
import { messageKey, type MessageRequested } from '@herald/messages';

interface Claim {
  /** messageKey(tenantId, messageId): idempotency is per tenant. */
  _id: string;
  /** topic/partition/offset of the record that claimed the id. */
  source: string;
  claimedAt: number;
  /**
   * The request as it arrived, unredacted: what a resend sends again (no event or read-model
   * document carries the content). Internal, never served. Absent on claims from before resend.
   * JSON text rather than a document: content and metadata keys may hold '.' or '$', which
   * MongoDB and FerretDB refuse as field names.
   */
  request?: string;
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
      request: JSON.stringify(request),
    });
  }

  async isClaimed(tenantId: string, messageId: string): Promise<boolean> {
    const claim = await this.claims.findOne(
      { _id: messageKey(tenantId, messageId) },
      { projection: { _id: 1 } },
    );
    return claim !== null;
  }

  /** The request that claimed the id, for a resend; null when none is kept (older claims). */
  async request(tenantId: string, messageId: string): Promise<MessageRequested | null> {
    const claim = await this.claims.findOne({ _id: messageKey(tenantId, messageId) });
    return claim?.request === undefined ? null : (JSON.parse(claim.request) as MessageRequested);
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
