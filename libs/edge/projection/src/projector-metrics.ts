import type { EventType } from '@herald/messages';
import { heraldMetrics } from '@herald/metrics';

/**
 * Records what one batch write made visible, `writtenAt` being when the write completed: the
 * events applied, each one's projection lag, and request → sent for a message's first send.
 * Histograms (declared in @herald/metrics), so the quantiles add up across projector replicas.
 */
export function recordApplied(
  items: readonly {
    type: EventType;
    appendedAt: number;
    requestedAt: number | null;
    firstSend: boolean;
  }[],
  writtenAt: number,
): void {
  const { eventsApplied, projectionLag, requestToSent } = heraldMetrics;
  for (const item of items) {
    eventsApplied.inc({ type: item.type });
    projectionLag.observe(Math.max(0, writtenAt - item.appendedAt) / 1000);
    if (item.firstSend && item.requestedAt !== null) {
      requestToSent.observe(Math.max(0, writtenAt - item.requestedAt) / 1000);
    }
  }
}
