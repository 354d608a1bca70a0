/**
 * Whether this process's writes (Kafka transactions, MongoDB writes) are getting through. A hung
 * or refusing server does not crash anything: commits retry, rounds retry, and the process would
 * go on answering HTTP while doing nothing. The liveness check reports writes that have failed,
 * or not finished, for longer than a bound, so that an orchestrator restarts the process with
 * fresh connections; the restarted process redoes the uncommitted work.
 */
export class WriteHealth {
  private readonly kinds = new Map<
    string,
    { failingSince: number | null; inFlight: Map<number, number> }
  >();
  private nextId = 0;

  /** Runs one write of `kind` ('kafka', 'mongodb'), noting how it went. */
  async track<T>(kind: string, write: () => Promise<T>, now = Date.now): Promise<T> {
    const state = this.kinds.get(kind) ?? { failingSince: null, inFlight: new Map() };
    this.kinds.set(kind, state);
    const id = this.nextId++;
    state.inFlight.set(id, now());
    try {
      const result = await write();
      state.failingSince = null;
      return result;
    } catch (error) {
      state.failingSince ??= now();
      throw error;
    } finally {
      state.inFlight.delete(id);
    }
  }

  /** Each kind whose writes have failed, or one has hung, for longer than `boundMs`, and since when. */
  failing(now: number, boundMs: number): Record<string, string> {
    const failing: Record<string, string> = {};
    for (const [kind, { failingSince, inFlight }] of this.kinds) {
      const since = Math.min(failingSince ?? Infinity, ...inFlight.values());
      if (Number.isFinite(since) && now - since > boundMs) {
        failing[kind] = `writes failing or unfinished for ${Math.round((now - since) / 1000)} s`;
      }
    }
    return failing;
  }
}

/** This process's writes, as the liveness check reads them. */
export const writeHealth = new WriteHealth();
