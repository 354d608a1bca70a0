import { Counter, Histogram } from 'prom-client';

/** Outbound webhooks' metrics, on the webhooks service's /metrics. */
export const webhookMetrics = {
  deliveries: new Counter({
    name: 'herald_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome (succeeded, retrying, failed) and deliveries dropped',
    labelNames: ['outcome'],
  }),
  latency: new Histogram({
    name: 'herald_webhook_delivery_latency_seconds',
    help: "From the message event's occurrence to the endpoint's 2xx",
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
  }),
  callDuration: new Histogram({
    name: 'herald_webhook_call_duration_seconds',
    help: 'How long calls to endpoints took, answered or not',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
  }),
  endpointsDisabled: new Counter({
    name: 'herald_webhook_endpoints_disabled_total',
    help: 'Endpoints disabled by Herald, by reason (gone: it answered 410; failing: 5 days of failures)',
    labelNames: ['reason'],
  }),
  handedOff: new Counter({
    name: 'herald_webhook_calls_handed_off_total',
    help: 'Calls slower than HERALD_WEBHOOK_SLOW_AFTER_MS, finished outside their batch',
  }),
  deferred: new Counter({
    name: 'herald_webhook_deliveries_deferred_total',
    help: 'Deliveries put back for a second because their endpoint had its most calls in flight',
  }),
};
