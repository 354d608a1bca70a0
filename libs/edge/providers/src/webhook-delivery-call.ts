import type { WebhookCallResult } from '@herald/webhooks';
import { callProvider } from './http-call';
import { webhookHeaders } from './webhook-signature';

/** Standard Webhooks' recommendation, and what Svix and Courier give an endpoint. */
export const WEBHOOK_DELIVERY_TIMEOUT_MS = 15_000;

export interface WebhookDeliveryCall {
  url: string;
  /** The `webhook-id`. */
  deliveryId: string;
  body: string;
  /** Every secret that signs now (two during a rotation). */
  secrets: readonly string[];
}

/**
 * One signed POST to a tenant's endpoint, through the call layer every provider call uses
 * (keep-alive, the network guard, bounded reads, a redacted log). The timestamp is the call's
 * own, so a receiver's replay window (Standard Webhooks: 5 minutes) holds for retries too.
 */
export async function deliverWebhook(
  call: WebhookDeliveryCall,
  timeoutMs = WEBHOOK_DELIVERY_TIMEOUT_MS,
): Promise<WebhookCallResult> {
  const startedAt = Date.now();
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'herald-webhooks/1',
    ...webhookHeaders(call.secrets, call.deliveryId, Math.floor(startedAt / 1000), call.body),
  };
  const outcome = await callProvider(
    { method: 'POST', url: call.url, headers, body: call.body },
    { timeoutMs, secrets: call.secrets },
  );
  const finishedAt = Date.now();
  const status = outcome.log?.response?.status ?? null;
  if (outcome.ok) {
    return {
      ok: true,
      status,
      error: null,
      retryAfterMs: null,
      log: outcome.log,
      startedAt,
      finishedAt,
    };
  }
  return {
    ok: false,
    status,
    error: { code: outcome.error.code, message: outcome.error.message },
    retryAfterMs: outcome.retryAfterMs ?? null,
    log: outcome.log,
    startedAt,
    finishedAt,
  };
}
