import { createMongoClient } from '@herald/mongo';

describe('the MongoDB client', () => {
  it('bounds connecting, a silent server and the wait for a pooled connection (no connection made)', () => {
    // Building a client opens nothing; the options are what a hung server meets.
    const { options } = createMongoClient('mongodb://127.0.0.1:27017/herald');
    expect(options).toMatchObject({
      serverSelectionTimeoutMS: 3000,
      connectTimeoutMS: 3000,
      socketTimeoutMS: 60_000,
      waitQueueTimeoutMS: 30_000,
    });
  });
});
