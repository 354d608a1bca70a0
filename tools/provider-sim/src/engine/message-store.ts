import { type Named } from './recipients';
import { type StatusScript } from './status-scripts';

/** A message a provider accepted, kept so its status can be looked up later. */
export interface StoredMessage {
  recipient: string;
  acceptedAt: number;
  status: Named<StatusScript>;
  /** Provider-specific fields that status lookups echo back (from, subject, body…). */
  fields: Readonly<Record<string, string>>;
}

export const DEFAULT_MAX_MESSAGES = 500_000;

/**
 * Accepted messages by provider id, oldest forgotten first. Benchmarks send far more messages
 * than anyone looks up, so the bound matters more than keeping every id forever; a forgotten id
 * answers like an unknown one.
 */
export class MessageStore {
  private readonly messages = new Map<string, StoredMessage>();

  constructor(private readonly capacity = DEFAULT_MAX_MESSAGES) {}

  remember(id: string, message: StoredMessage): void {
    if (this.capacity === 0) return;
    this.messages.set(id, message);
    if (this.messages.size > this.capacity) {
      const oldest = this.messages.keys().next();
      if (!oldest.done) this.messages.delete(oldest.value);
    }
  }

  get(id: string): StoredMessage | undefined {
    return this.messages.get(id);
  }

  clear(): void {
    this.messages.clear();
  }

  get size(): number {
    return this.messages.size;
  }
}
