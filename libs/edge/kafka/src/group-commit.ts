interface Waiting<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: items submitted while a write is in flight wait and go together in the next
 * one. A write of many costs about what a write of one does (a Kafka transaction, a MongoDB
 * insertMany), so under load the writes grow instead of queueing up one by one.
 */
export class GroupCommit<T, R> {
  private queue: Array<Waiting<T, R>> = [];
  private writing = false;

  /** `write` answers each item of a group, in order; if it throws, the whole group fails. */
  constructor(private readonly write: (items: T[]) => Promise<R[]>) {}

  submit(item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
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
          const results = await this.write(group.map((waiting) => waiting.item));
          group.forEach((waiting, i) => waiting.resolve(results[i]!));
        } catch (error) {
          for (const waiting of group) waiting.reject(error);
        }
      }
    } finally {
      this.writing = false;
    }
  }
}
