import { Webhook } from 'standardwebhooks';
import type { ApiWebhookAttempt, ApiWebhookDelivery, ApiWebhookEndpoint } from '@herald/webhooks';
import type { RecordedRequest } from '@tools/provider-sim';
import { bearer, waitFor } from '@tools/harness';
import type { Herald } from './herald';

export type Endpoint = ApiWebhookEndpoint & { secret: string };
export type DeliveryWithAttempts = ApiWebhookDelivery & { attempts: ApiWebhookAttempt[] };

/** /v1/webhook-endpoints on the running webhooks service, with tenant `default`'s key unless named. */
export async function webhooksApi<T>(
  herald: Herald,
  method: string,
  path: string,
  body?: unknown,
  key: string = herald.key.key,
): Promise<{ status: number; body: T }> {
  const response = await fetch(`http://127.0.0.1:${herald.service('webhooks').port}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...bearer(key) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text === '' ? null : JSON.parse(text)) as T };
}

/**
 * An endpoint on the simulator's receiver `/receivers/<script>/<name>`, its secret registered
 * with the receiver so that it verifies what arrives.
 */
export async function createEndpoint(
  herald: Herald,
  script: string,
  name: string,
  fields: { eventTypes?: string[] } = {},
  key: string = herald.key.key,
): Promise<Endpoint> {
  const response = await webhooksApi<Endpoint>(
    herald,
    'POST',
    '/v1/webhook-endpoints',
    { url: receiverUrl(herald, script, name), ...fields },
    key,
  );
  if (response.status !== 201) {
    throw new Error(
      `creating an endpoint answered ${response.status}: ${JSON.stringify(response.body)}`,
    );
  }
  herald.sim.registerReceiver(name, [response.body.secret]);
  return response.body;
}

export function receiverUrl(herald: Herald, script: string, name: string): string {
  return `${herald.sim.url()}/receivers/${script}/${name}`;
}

/** What the receiver `name` got, in arrival order. */
export function receivedBy(herald: Herald, name: string): RecordedRequest[] {
  return herald.sim
    .requests({ prefix: '/receivers/' })
    .filter((request) => request.path.endsWith(`/${name}`))
    .sort((a, b) => a.receivedAt - b.receivedAt);
}

export async function waitForReceived(
  herald: Herald,
  name: string,
  count: number,
  timeoutMs = 60_000,
): Promise<RecordedRequest[]> {
  return waitFor(
    `receiver ${name} to get ${count} request(s)`,
    () => {
      const got = receivedBy(herald, name);
      return got.length >= count ? got : undefined;
    },
    { timeoutMs, intervalMs: 50 },
  );
}

export async function deliveriesOf(
  herald: Herald,
  endpointId: string,
  query = '',
  key: string = herald.key.key,
): Promise<ApiWebhookDelivery[]> {
  const response = await webhooksApi<{ items: ApiWebhookDelivery[] }>(
    herald,
    'GET',
    `/v1/webhook-endpoints/${endpointId}/deliveries${query}`,
    undefined,
    key,
  );
  if (response.status !== 200) throw new Error(`deliveries answered ${response.status}`);
  return response.body.items;
}

export async function delivery(
  herald: Herald,
  endpointId: string,
  deliveryId: string,
  key: string = herald.key.key,
): Promise<DeliveryWithAttempts> {
  const response = await webhooksApi<DeliveryWithAttempts>(
    herald,
    'GET',
    `/v1/webhook-endpoints/${endpointId}/deliveries/${deliveryId}`,
    undefined,
    key,
  );
  if (response.status !== 200) throw new Error(`delivery answered ${response.status}`);
  return response.body;
}

/** Waits until the endpoint's deliveries satisfy `done`. */
export async function waitForDeliveries(
  herald: Herald,
  endpointId: string,
  what: string,
  done: (deliveries: ApiWebhookDelivery[]) => boolean,
  timeoutMs = 60_000,
  key: string = herald.key.key,
): Promise<ApiWebhookDelivery[]> {
  return waitFor(
    what,
    async () => {
      const items = await deliveriesOf(herald, endpointId, '?limit=100', key);
      return done(items) ? items : undefined;
    },
    { timeoutMs, intervalMs: 200 },
  );
}

/** Checks a received call with the third-party verifier: throws unless `secret` signed it. */
export function verifyWith(secret: string, request: RecordedRequest): unknown {
  return new Webhook(secret).verify(request.body, {
    'webhook-id': request.headers['webhook-id'] ?? '',
    'webhook-timestamp': request.headers['webhook-timestamp'] ?? '',
    'webhook-signature': request.headers['webhook-signature'] ?? '',
  });
}

/**
 * Deletes every endpoint of the key's tenant: tenants are the same across runs against the same
 * servers, and an endpoint left by an earlier run would receive this run's events.
 */
export async function removeAllEndpoints(herald: Herald, key: string = herald.key.key) {
  const { body } = await webhooksApi<{ items: { id: string }[] }>(
    herald,
    'GET',
    '/v1/webhook-endpoints',
    undefined,
    key,
  );
  for (const { id } of body.items) {
    await webhooksApi(herald, 'DELETE', `/v1/webhook-endpoints/${id}`, undefined, key);
  }
}
