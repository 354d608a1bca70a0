import { Partitioners, type Kafka, type Producer, type IHeaders } from 'kafkajs';
import { GroupCommit } from './group-commit';

/** A record a handler wants written, in the same transaction as the offsets it consumed. */
export interface Output {
  topic: string;
  key: string;
  value: Buffer;
  headers?: IHeaders;
}

export interface ConsumedOffset {
  topic: string;
  partition: number;
  /** The next offset to consume (last processed + 1), as Kafka commits it. */
  offset: string;
}

interface Pending {
  outputs: Output[];
  offsets: ConsumedOffset[];
}

/**
 * Writes outputs and consumer offsets atomically: a crash before the commit redoes the work, a
 * crash after it never repeats it, so no task is lost or duplicated. A producer runs one
 * transaction at a time, so commits that arrive while one is in flight are grouped into the
 * next (one transaction for many partitions' batches; see GroupCommit).
 */
export class TransactionalCommitter {
  private readonly producer: Producer;
  private readonly commits = new GroupCommit<Pending, void>(async (group) => {
    await this.commitGroup(group);
    return group.map(() => undefined);
  });

  constructor(
    kafka: Kafka,
    private readonly consumerGroupId: string,
    transactionalId: string,
  ) {
    this.producer = kafka.producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      // Transactions are opened only after the work is done, so they are short; a killed
      // instance's open transaction blocks read_committed readers for at most this long.
      transactionTimeout: 15_000,
      // A commit waits out a broker outage rather than failing the batch (which would redo it).
      // The first retries come fast: the usual failure is CONCURRENT_TRANSACTIONS, a transaction
      // begun while the coordinator still writes the previous one's markers, which clears in
      // milliseconds (the Java client retries it after 20 ms); waiting the client's 200 ms made
      // every such commit, and the retry it carried, that much later.
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 20, maxRetryTime: 5_000 },
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  commit(outputs: Output[], offset: ConsumedOffset | ConsumedOffset[]): Promise<void> {
    return this.commits.submit({ outputs, offsets: Array.isArray(offset) ? offset : [offset] });
  }

  private async commitGroup(group: Pending[]): Promise<void> {
    const transaction = await this.producer.transaction();
    try {
      const byTopic = new Map<string, Output[]>();
      for (const output of group.flatMap((pending) => pending.outputs)) {
        const list = byTopic.get(output.topic) ?? [];
        list.push(output);
        byTopic.set(output.topic, list);
      }
      if (byTopic.size > 0) {
        await transaction.sendBatch({
          acks: -1,
          topicMessages: [...byTopic].map(([topic, messages]) => ({
            topic,
            messages: messages.map(({ key, value, headers }) => ({ key, value, headers })),
          })),
        });
      }
      const offsets = group.flatMap((pending) => pending.offsets);
      if (offsets.length > 0) {
        await transaction.sendOffsets({
          consumerGroupId: this.consumerGroupId,
          topics: offsetsByTopic(offsets),
        });
      }
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      throw error;
    }
  }
}

/** Highest offset per partition wins: two batches of one partition can share a transaction. */
function offsetsByTopic(offsets: ConsumedOffset[]) {
  const topics = new Map<string, Map<number, string>>();
  for (const { topic, partition, offset } of offsets) {
    const partitions = topics.get(topic) ?? new Map<number, string>();
    const current = partitions.get(partition);
    if (current === undefined || BigInt(offset) > BigInt(current))
      partitions.set(partition, offset);
    topics.set(topic, partitions);
  }
  return [...topics].map(([topic, partitions]) => ({
    topic,
    partitions: [...partitions].map(([partition, offset]) => ({ partition, offset })),
  }));
}
