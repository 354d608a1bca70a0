/**
 * The timers holding back delayed answers, kept so close() can cancel them: a pending timer
 * would otherwise keep the process (and a test run) alive after the listeners are gone.
 */
export class Delays {
  private readonly timers = new Set<NodeJS.Timeout>();

  /** Runs `action` after `ms`; the returned function cancels it. */
  after(ms: number, action: () => void): () => void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      action();
    }, ms);
    this.timers.add(timer);
    return () => {
      clearTimeout(timer);
      this.timers.delete(timer);
    };
  }

  cancelAll(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
