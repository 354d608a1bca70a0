import { createHash } from 'node:crypto';
import type { Collection, Db } from 'mongodb';

/**
 * A dashboard sign-in. The document is keyed by the SHA-256 of the cookie's token, so a dump of
 * the database holds no cookie anyone could replay; the secret key signed in with is never
 * stored (only its id, to end the session when the key is revoked).
 */
export interface DashboardSessionDocument {
  _id: string;
  tenantId: string;
  keyId: string;
  /** The synchronizer token every state-changing form of this session carries. */
  csrfToken: string;
  createdAt: number;
  expiresAt: number;
}

export type DashboardSession = Omit<DashboardSessionDocument, '_id'>;

export const DASHBOARD_SESSIONS = 'dashboard_sessions';

export function sessionIdOf(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * The dashboard's sessions. Expiry is enforced by every read (`expiresAt > now`) and the
 * collection is swept now and then, rather than by a TTL index: FerretDB v1 answers
 * `expireAfterSeconds` with NotImplemented, which is also why connect-mongo is not used.
 * Every read is an exact `_id` lookup, the one query FerretDB v1 answers without a scan.
 */
export class DashboardSessions {
  private readonly sessions: Collection<DashboardSessionDocument>;

  constructor(db: Db) {
    this.sessions = db.collection<DashboardSessionDocument>(DASHBOARD_SESSIONS);
  }

  async create(token: string, session: DashboardSession): Promise<void> {
    await this.sessions.insertOne({ _id: sessionIdOf(token), ...session });
  }

  async find(token: string, now: number): Promise<DashboardSession | null> {
    const doc = await this.sessions.findOne({ _id: sessionIdOf(token), expiresAt: { $gt: now } });
    if (!doc) return null;
    return {
      tenantId: doc.tenantId,
      keyId: doc.keyId,
      csrfToken: doc.csrfToken,
      createdAt: doc.createdAt,
      expiresAt: doc.expiresAt,
    };
  }

  async end(token: string): Promise<void> {
    await this.sessions.deleteOne({ _id: sessionIdOf(token) });
  }

  /** Deletes expired sessions; returns how many. */
  async sweep(now: number): Promise<number> {
    const result = await this.sessions.deleteMany({ expiresAt: { $lte: now } });
    return result.deletedCount;
  }
}
