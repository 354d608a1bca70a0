import {
  MONGO_GROUPS,
  requestsBetween,
  requestsPerThousand,
  serverRequestsBetween,
} from '../../tools/bench/server-requests';

describe("the bench's reading of the servers' request counts", () => {
  it('takes the difference of two readings, leaving out upkeep and what did not move', () => {
    const before = new Map([
      ['Produce', 100],
      ['Fetch', 50],
      ['FetchConsumer', 50],
      ['BrokerHeartbeat', 7],
      ['EndTxn', 10],
    ]);
    const after = new Map([
      ['Produce', 160],
      ['Fetch', 80],
      ['FetchConsumer', 80],
      ['BrokerHeartbeat', 9],
      ['EndTxn', 10],
      ['TxnOffsetCommit', 20],
    ]);
    expect([...requestsBetween(before, after)]).toEqual([
      ['Produce', 60],
      ['Fetch', 30],
      ['TxnOffsetCommit', 20],
    ]);
  });

  it('says requests per 1,000 messages by group, with anything ungrouped as other', () => {
    const requests = new Map([
      ['Produce', 50],
      ['Fetch', 200],
      ['AddPartitionsToTxn', 30],
      ['EndTxn', 20],
      ['TxnOffsetCommit', 20],
      ['Metadata', 10],
    ]);
    expect(requestsPerThousand(requests, 10_000)).toBe(
      '33 in all: produce 5.0, fetch 20, transaction calls 5.0, offset commits 2.0, other 1.0',
    );
  });

  it("reads MongoDB's commands apart from its handshakes, and only where both readings exist", () => {
    const between = serverRequestsBetween(
      {
        mongodb: new Map([
          ['insert', 10],
          ['hello', 5],
        ]),
      },
      {
        kafka: new Map([['Produce', 3]]),
        mongodb: new Map([
          ['insert', 30],
          ['update', 40],
          ['hello', 9],
        ]),
      },
    );
    expect(between.kafka).toBeUndefined();
    expect(requestsPerThousand(between.mongodb!, 20_000, MONGO_GROUPS)).toBe(
      '3.0 in all: insert 1.0, update 2.0',
    );
  });
});
