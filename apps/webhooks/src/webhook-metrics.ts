import { heraldMetrics } from '@herald/metrics';

/**
 * Outbound webhooks' metrics, recorded by the webhooks service (declared with the rest of
 * Herald's in @herald/metrics, so the dashboard check and every /metrics see them).
 */
export const webhookMetrics = {
  deliveries: heraldMetrics.webhookDeliveries,
  latency: heraldMetrics.webhookDeliveryLatency,
  callDuration: heraldMetrics.webhookCallDuration,
  endpointsDisabled: heraldMetrics.webhookEndpointsDisabled,
  handedOff: heraldMetrics.webhookCallsHandedOff,
  deferred: heraldMetrics.webhookDeliveriesDeferred,
};
