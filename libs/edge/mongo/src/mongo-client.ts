import { MongoClient, type Db } from 'mongodb';
import { fixMongoIdlePoolChecks } from './mongo-idle-fix';

/**
 * Herald's read model must work on MongoDB proper and on FerretDB v1 (the local server when no
 * Docker engine answers). FerretDB v1 has no transactions and no change streams, so nothing
 * here or in the projector may rely on either.
 */
export function createMongoClient(uri: string): MongoClient {
  fixMongoIdlePoolChecks(); // see mongo-idle-fix.ts: every MongoDB client of Herald is made here
  return new MongoClient(uri, {
    serverSelectionTimeoutMS: 3000,
    connectTimeoutMS: 3000,
    // A server that accepted a command and hangs must fail the command, not stall ingest's
    // claims and the projector's writes for ever (both retry a failed write). A minute is far
    // beyond any write Herald makes, a rebuild's batches included.
    socketTimeoutMS: 60_000,
    // Likewise waiting for a pooled connection while every one is stuck.
    waitQueueTimeoutMS: 30_000,
    appName: 'herald',
    // FerretDB v1 does not implement retryable writes' session semantics fully; the projector
    // is idempotent instead, so a write retried by us is safe.
    retryWrites: false,
  });
}

/** The database named in the URI's path (mongodb://host:port/NAME?options), else 'herald'. */
export function databaseNameIn(uri: string): string {
  const match = /^mongodb(?:\+srv)?:\/\/[^/]+\/([^?]+)/.exec(uri);
  return match?.[1] ? decodeURIComponent(match[1]) : 'herald';
}

export function heraldDb(client: MongoClient, uri: string): Db {
  return client.db(databaseNameIn(uri));
}

export async function pingMongo(db: Db): Promise<void> {
  await db.command({ ping: 1 });
}
