import { createHash } from 'node:crypto';
import type { Output } from './transactional-committer';
import type { AvroCodec } from '@herald/schema-registry';
import { TOPICS } from '@herald/topics';
import type { WebhookDeliveryEvent } from '@herald/webhooks';

// What the fan-out, the delivery worker and resend write for a delivery.

/**
 * The delivery's id and `webhook-id`: derived from the endpoint and the message event, so a
 * fan-out redone after a crash names the same delivery.
 */
export function deliveryIdOf(endpointId: string, messageEventId: string): string {
  const digest = createHash('sha256').update(`${endpointId}:${messageEventId}`).digest('hex');
  return `msg_${digest.slice(0, 32)}`;
}

/** A delivery event, keyed by its endpoint so an endpoint's history stays in order. */
export async function deliveryEventOutput(
  codec: AvroCodec,
  event: WebhookDeliveryEvent,
): Promise<Output> {
  return {
    topic: TOPICS.webhookDeliveryEvents.name,
    key: event.endpointId,
    value: await codec.encode(TOPICS.webhookDeliveryEvents.name, event),
  };
}
