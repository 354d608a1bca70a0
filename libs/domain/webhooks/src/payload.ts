/**
 * What an endpoint receives: `{type, timestamp, data}` (Standard Webhooks' payload shape), with
 * `data` the message as `GET /v1/messages/{id}` shows it after the event, plus the event.
 */

import { iso, type ApiEvent, type ApiMessage } from '@herald/read-model';
import { webhookEventType, type WebhookEndpoint } from './endpoints';

export interface WebhookPayload {
  type: string;
  /** When the event occurred (ISO-8601). */
  timestamp: string | null;
  data: ApiMessage & { event: ApiEvent };
}

export function webhookPayload(message: ApiMessage, event: ApiEvent): string {
  const payload: WebhookPayload = {
    type: webhookEventType(event.type),
    timestamp: event.occurredAt,
    data: { ...message, event },
  };
  return JSON.stringify(payload);
}

/** An endpoint as the API shows it: never its secrets (the create and rotate answers carry one). */
export interface ApiWebhookEndpoint {
  id: string;
  url: string;
  description: string | null;
  eventTypes: string[] | null;
  enabled: boolean;
  disabledReason: string | null;
  disabledAt: string | null;
  failingSince: string | null;
  createdAt: string | null;
  updatedAt: string | null;
}

export function toApiEndpoint(endpoint: WebhookEndpoint): ApiWebhookEndpoint {
  return {
    id: endpoint.id,
    url: endpoint.url,
    description: endpoint.description,
    eventTypes: endpoint.eventTypes,
    enabled: endpoint.enabled,
    disabledReason: endpoint.disabledReason,
    disabledAt: iso(endpoint.disabledAt),
    failingSince: iso(endpoint.failingSince),
    createdAt: iso(endpoint.createdAt),
    updatedAt: iso(endpoint.updatedAt),
  };
}
