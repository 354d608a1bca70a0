import { Partitioners, type Kafka, type Producer, type IHeaders } from 'kafkajs';
import { startTransactionCommit } from '@herald/metrics';
import { outputSize } from './record-size';
import { writeHealth } from './write-health';
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

  private commitGroup(group: Pending[]): Promise<void> {
    // Commits retry without end through a broker outage: liveness reports one that hangs.
    return writeHealth.track('kafka', () => this.commitNow(group));
  }

  private async commitNow(group: Pending[]): Promise<void> {
    // From beginning the transaction to its commit: what a batch waits for once its work is done.
    const committed = startTransactionCommit(this.consumerGroupId);
    const transaction = await this.producer.transaction();
    try {
      for (const chunk of chunksBySize(group.flatMap((pending) => pending.outputs))) {
        const byTopic = new Map<string, Output[]>();
        for (const output of chunk) {
          const list = byTopic.get(output.topic) ?? [];
          list.push(output);
          byTopic.set(output.topic, list);
        }
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
      committed();
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      throw error;
    }
  }
}

/**
 * Bytes of outputs per send. kafkajs puts a send's records for one partition into one record
 * batch, and the broker refuses a batch over its message.max.bytes (1 MiB by default) with a
 * non-retriable error that stops the consumer: a group of many batches (a burst of thousands of
 * events, each with its exchange log) went past it. Half the default leaves room for the
 * batch's own overhead.
 */
export const MAX_SEND_BYTES = 512 * 1024;

/** Splits outputs, in order, into runs of at most `maxBytes` (a larger output alone). */
export function chunksBySize(outputs: readonly Output[], maxBytes = MAX_SEND_BYTES): Output[][] {
  const chunks: Output[][] = [];
  let current: Output[] = [];
  let bytes = 0;
  for (const output of outputs) {
    const size = outputSize(output);
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(output);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
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
