import { randomUUID } from 'node:crypto';
import { MongoServerError, type Collection, type MongoClient } from 'mongodb';
import { createMongoClient, heraldDb, pingMongo } from '@herald/mongo';
import { testEnv } from '../support/servers';

interface Doc {
  _id: string;
  status: string;
  seq: number;
  tenantId: string;
  externalId: string;
}

describe('the real MongoDB-protocol server', () => {
  const env = testEnv();
  let client: MongoClient;
  let collection: Collection<Doc>;

  beforeAll(async () => {
    client = await createMongoClient(env.mongodbUri).connect();
    collection = heraldDb(client, env.mongodbUri).collection<Doc>(
      `test_${randomUUID().slice(0, 8)}`,
    );
  });

  afterAll(async () => {
    await collection?.drop().catch(() => undefined);
    await client?.close();
  });

  it('answers ping', async () => {
    await expect(pingMongo(heraldDb(client, env.mongodbUri))).resolves.toBeUndefined();
  });

  it('upserts a document and reads it back', async () => {
    const first = await collection.updateOne(
      { _id: 'm-1' },
      { $set: { status: 'queued', seq: 1 }, $setOnInsert: { tenantId: 't', externalId: 'x-1' } },
      { upsert: true },
    );
    expect(first.upsertedCount).toBe(1);
    await collection.updateOne(
      { _id: 'm-1', seq: { $lt: 2 } },
      { $set: { status: 'sent', seq: 2 } },
      { upsert: false },
    );
    expect(await collection.findOne({ _id: 'm-1' })).toEqual({
      _id: 'm-1',
      status: 'sent',
      seq: 2,
      tenantId: 't',
      externalId: 'x-1',
    });
  });

  it('refuses a duplicate on a unique index with code 11000', async () => {
    await collection.createIndex({ externalId: 1 }, { unique: true });
    await collection.insertOne({
      _id: 'm-2',
      status: 'queued',
      seq: 1,
      tenantId: 't',
      externalId: 'x-2',
    });
    const duplicate = collection.insertOne({
      _id: 'm-3',
      status: 'queued',
      seq: 1,
      tenantId: 't',
      externalId: 'x-2',
    });
    await expect(duplicate).rejects.toBeInstanceOf(MongoServerError);
    await expect(duplicate).rejects.toMatchObject({ code: 11000 });
    expect(await collection.countDocuments({ externalId: 'x-2' })).toBe(1);
  });
});
