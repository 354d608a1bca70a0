/**
 * What the run has to undo, in the reverse order it was set up: stopping what it started
 * (processes, servers, Redis) at the end or on Ctrl-C. A cleanup that fails is said, and the
 * others still run.
 */

import { errorMessage, say } from './log';

export class Cleanups {
  private readonly pending: Array<{ what: string; run: () => Promise<void> | void }> = [];

  push(what: string, run: () => Promise<void> | void): void {
    this.pending.push({ what, run });
  }

  async runAll(): Promise<void> {
    while (this.pending.length > 0) {
      const cleanup = this.pending.pop();
      if (!cleanup) break;
      try {
        await cleanup.run();
      } catch (error) {
        say(`cleanup (${cleanup.what}) failed: ${errorMessage(error)}`);
      }
    }
  }
}
