import type { WebhookCallResult } from '@herald/webhooks';

/** How long an endpoint counts as slow after a call of it outlasted the budget. */
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
  private readonly handedOff = new Map<string, EndpointCall>();
  private readonly slowUntil = new Map<string, number>();

  constructor(
    private readonly endpointConcurrency: number,
    private readonly timeoutMs: number,
  ) {}

  /** Whether the endpoint already has its most calls in flight. */
  busy(endpointId: string): boolean {
    return (this.inFlight.get(endpointId) ?? 0) >= this.endpointConcurrency;
  }

  start(endpointId: string, call: () => Promise<WebhookCallResult>): EndpointCall {
    this.inFlight.set(endpointId, (this.inFlight.get(endpointId) ?? 0) + 1);
    const started: EndpointCall = {
      endpointId,
      settled: false,
      // A margin past the timeout: the call's own timer, then its promise, must have fired.
      settledBy: Date.now() + this.timeoutMs + 250,
      result: call().finally(() => {
        started.settled = true;
        const left = (this.inFlight.get(endpointId) ?? 1) - 1;
        if (left > 0) this.inFlight.set(endpointId, left);
        else this.inFlight.delete(endpointId);
      }),
    };
    return started;
  }

  /** How long a batch may wait for a call to this endpoint before handing it off. */
  budgetFor(endpointId: string, slowAfterMs: number): number {
    return (this.slowUntil.get(endpointId) ?? 0) > Date.now() ? 0 : slowAfterMs;
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
    this.slowUntil.set(call.endpointId, Date.now() + SLOW_FOR_MS);
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
