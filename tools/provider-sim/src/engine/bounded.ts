/** Bounded collections: the simulator must hold steady memory under benchmark load. */

/** Fixed-capacity ring: recording must cost O(1) and bounded memory under benchmark load. */
export class Ring<T> {
  private items: T[] = [];
  private next = 0;

  constructor(private readonly capacity: number) {}

  push(item: T): void {
    if (this.capacity === 0) return;
    if (this.items.length < this.capacity) {
      this.items.push(item);
    } else {
      this.items[this.next] = item;
      this.next = (this.next + 1) % this.capacity;
    }
  }

  get size(): number {
    return this.items.length;
  }

  /** Matching items, oldest first, without copying the whole ring for every query. */
  select(wanted: (item: T) => boolean): T[] {
    const out: T[] = [];
    const n = this.items.length;
    for (let i = 0; i < n; i += 1) {
      const item = this.items[(this.next + i) % n] as T;
      if (wanted(item)) out.push(item);
    }
    return out;
  }

  clear(): void {
    this.items = [];
    this.next = 0;
  }
}

/** Attempt counters, bounded so unique-key-per-message benchmarks cannot exhaust memory. */
export class Counters {
  private readonly counts = new Map<string, number>();

  constructor(private readonly capacity: number) {}

  increment(key: string): number {
    const count = (this.counts.get(key) ?? 0) + 1;
    // Re-inserting keeps Map order least-recently-used first, so eviction drops idle keys.
    this.counts.delete(key);
    this.counts.set(key, count);
    if (this.counts.size > this.capacity) {
      const oldest = this.counts.keys().next();
      if (!oldest.done) this.counts.delete(oldest.value);
    }
    return count;
  }

  get size(): number {
    return this.counts.size;
  }

  entries(): IterableIterator<[string, number]> {
    return this.counts.entries();
  }

  clear(): void {
    this.counts.clear();
  }
}
