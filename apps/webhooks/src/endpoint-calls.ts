import type { WebhookCallResult } from '@herald/webhooks';

/** How long an endpoint counts as slow after a call of it outlasted the budget (unless a later call settles fast). */
const SLOW_FOR_MS = 60_000;

/** How long a handed-off call's result waits to be taken before it is forgotten. */
const UNCLAIMED_FOR_MS = 60_000;

export interface EndpointCall {
  endpointId: string;
  result: Promise<WebhookCallResult>;
  /** Whether the result is in. */
  settled: boolean;
  /** By when it has certainly settled (its start plus the call timeout). */
  settledBy: number;
}

/** How often a handed-off call's task comes back to see whether the call has settled. */
export const HANDED_OFF_RECHECK_MS = 1_000;

/**
 * The calls this process has in flight to each endpoint, and the slow ones handed off.
 *
 * kafkajs fetches again only once every batch of the last fetch has returned, so a batch that
 * waited on a hanging endpoint would hold up every other endpoint's deliveries. A batch
 * therefore waits for a call only `slowAfterMs` (and not at all for an endpoint that was slow
 * within the last minute). A call still running by then is handed off: the call goes on, and
 * its task is put back, to come back every second until the call has settled; the task then
 * records the call's result from here. If another instance takes the task (a rebalance, a crash), it finds
 * no result and makes the attempt again, with the same webhook-id.
 */
export class EndpointCalls {
  private readonly inFlight = new Map<string, number>();
  /** Deliveries waiting for a free call slot of their endpoint, first come first served. */
  private readonly waiting = new Map<string, (() => void)[]>();
  private readonly handedOff = new Map<string, EndpointCall>();
  private readonly slowUntil = new Map<string, number>();

  constructor(
    private readonly endpointConcurrency: number,
    private readonly timeoutMs: number,
    private readonly slowAfterMs: number,
  ) {}

  /**
   * Takes one of the endpoint's call slots, waiting up to `ms` for one to free up (a fast
   * endpoint frees its slots within milliseconds); false when none came, and the delivery
   * waits its turn outside the batch instead.
   */
  async acquire(endpointId: string, ms: number): Promise<boolean> {
    const used = this.inFlight.get(endpointId) ?? 0;
    if (used < this.endpointConcurrency) {
      this.inFlight.set(endpointId, used + 1);
      return true;
    }
    if (ms <= 0) return false;
    return new Promise<boolean>((resolve) => {
      const queue = this.waiting.get(endpointId) ?? [];
      // The releasing call hands its slot over as it is: inFlight stays as it was.
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        const index = queue.indexOf(wake);
        if (index >= 0) queue.splice(index, 1);
        if (queue.length === 0) this.waiting.delete(endpointId);
        resolve(false);
      }, ms);
      queue.push(wake);
      this.waiting.set(endpointId, queue);
    });
  }

  private release(endpointId: string): void {
    const next = this.waiting.get(endpointId)?.shift();
    if (next) {
      next();
      return;
    }
    this.waiting.delete(endpointId);
    const left = (this.inFlight.get(endpointId) ?? 1) - 1;
    if (left > 0) this.inFlight.set(endpointId, left);
    else this.inFlight.delete(endpointId);
  }

  /** Makes a call in a slot taken with acquire(); the slot is released when it settles. */
  start(endpointId: string, call: () => Promise<WebhookCallResult>): EndpointCall {
    const startedAt = Date.now();
    const started: EndpointCall = {
      endpointId,
      settled: false,
      // A margin past the timeout: the call's own timer, then its promise, must have fired.
      settledBy: startedAt + this.timeoutMs + 250,
      result: call().finally(() => {
        started.settled = true;
        // Each settled call says whether the endpoint is slow now: a fast answer clears it.
        if (Date.now() - startedAt > this.slowAfterMs) {
          this.slowUntil.set(endpointId, Date.now() + SLOW_FOR_MS);
        } else this.slowUntil.delete(endpointId);
        this.release(endpointId);
      }),
    };
    return started;
  }

  /** How long a batch may wait for a call to this endpoint (or a slot) before handing it off. */
  budgetFor(endpointId: string): number {
    return (this.slowUntil.get(endpointId) ?? 0) > Date.now() ? 0 : this.slowAfterMs;
  }

  /** The call's result if it settles within `ms`, else undefined. */
  async within(call: EndpointCall, ms: number): Promise<WebhookCallResult | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    });
    try {
      return await Promise.race([call.result, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  handOff(key: string, call: EndpointCall): void {
    // Outlasting the budget is slowness measured; until the call settles and says otherwise.
    if (!call.settled) this.slowUntil.set(call.endpointId, Date.now() + SLOW_FOR_MS);
    this.handedOff.set(key, call);
    const forget = setTimeout(
      () => this.handedOff.delete(key),
      call.settledBy - Date.now() + UNCLAIMED_FOR_MS,
    );
    forget.unref();
  }

  /** When a handed-off call's task should come back. */
  recheckAt(call: EndpointCall): number {
    return Math.min(Date.now() + HANDED_OFF_RECHECK_MS, call.settledBy);
  }

  /** A handed-off call of this attempt, made here earlier; taken once. */
  take(key: string): EndpointCall | undefined {
    const call = this.handedOff.get(key);
    this.handedOff.delete(key);
    return call;
  }
}
