import { Counter, Summary } from 'prom-client';
import type { EventType } from '@herald/messages';

const QUANTILES = [0.5, 0.95, 0.99];
// Quantiles over the last 10 minutes, so they describe current behaviour, not the whole uptime.
const WINDOW = { maxAgeSeconds: 600, ageBuckets: 5 };

const applied = new Counter({
  name: 'herald_projector_events_applied_total',
  help: 'Events newly applied to the read model (written to MongoDB), by event type',
  labelNames: ['type'],
});

const projectionLag = new Summary({
  name: 'herald_projector_projection_lag_seconds',
  help: "From an event's append to herald.message-events to its read-model write completing",
  percentiles: QUANTILES,
  ...WINDOW,
});

const requestToSent = new Summary({
  name: 'herald_projector_request_to_sent_seconds',
  help: "From a message's requestedAt to its first `sent` (or synchronous `delivered`) being readable",
  percentiles: QUANTILES,
  ...WINDOW,
});

/** Records what one batch write made visible, `writtenAt` being when the write completed. */
export function recordApplied(
  items: readonly {
    type: EventType;
    appendedAt: number;
    requestedAt: number | null;
    firstSend: boolean;
  }[],
  writtenAt: number,
): void {
  for (const item of items) {
    applied.inc({ type: item.type });
    projectionLag.observe(Math.max(0, writtenAt - item.appendedAt) / 1000);
    if (item.firstSend && item.requestedAt !== null) {
      requestToSent.observe(Math.max(0, writtenAt - item.requestedAt) / 1000);
    }
  }
}
