// The demo's outbound webhooks: two endpoints of the demo tenant on the simulator's Standard
// Webhooks receiver, and what they got, checked signature by signature.

import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiMessage } from '@herald/read-model';
import type { ApiWebhookAttempt, ApiWebhookDelivery } from '@herald/webhooks';
import { green, heading, red, say, table, type Cell } from './output';
import { http, type Target } from './target';

interface DemoEndpoint {
  id: string;
  /** The receiver's name on the simulator: `/receivers/<script>/<name>`. */
  name: string;
  story: string;
}

export interface DemoEndpoints {
  /** Every message event. */
  all: DemoEndpoint;
  /** Bounces only, answering 503 twice before it takes one. */
  bounced: DemoEndpoint;
}

async function api<T>(target: Target, method: string, path: string, body?: unknown) {
  const response = await http<T>(method, `${target.webhooks}${path}`, body, target.apiKey);
  if (response.status >= 300) {
    throw new Error(
      `${method} ${path} answered ${response.status}: ${response.text.slice(0, 300)}`,
    );
  }
  return response.json as T;
}

async function createEndpoint(
  target: Target,
  script: string,
  name: string,
  story: string,
  eventTypes: string[] | null,
): Promise<DemoEndpoint> {
  const url = `${target.sim}/receivers/${script}/${name}`;
  const created = await api<{ id: string; secret: string }>(
    target,
    'POST',
    '/v1/webhook-endpoints',
    {
      url,
      eventTypes,
      description: story,
    },
  );
  // The receiver verifies every call with the secret (the standardwebhooks package).
  const registered = await http('PUT', `${target.sim}/_sim/receivers/${encodeURIComponent(name)}`, {
    secrets: [created.secret],
  });
  if (registered.status !== 200)
    throw new Error(`registering receiver ${name}: ${registered.text}`);
  return { id: created.id, name, story };
}

/** Registers the demo's endpoints (an earlier run's are deleted: they would receive this run's events). */
export async function registerEndpoints(target: Target, runId: string): Promise<DemoEndpoints> {
  const existing = await api<{ items: { id: string }[] }>(target, 'GET', '/v1/webhook-endpoints');
  for (const { id } of existing.items) await api(target, 'DELETE', `/v1/webhook-endpoints/${id}`);
  const endpoints = {
    all: await createEndpoint(target, 'ok', `demo-${runId}-all`, 'every message event', null),
    bounced: await createEndpoint(
      target,
      'fail-503-2',
      `demo-${runId}-bounced`,
      'message.bounced only; answers 503 twice first',
      ['message.bounced'],
    ),
  };
  heading('Webhook endpoints (POST /v1/webhook-endpoints on the webhooks service)');
  table(
    ['ENDPOINT', 'RECEIVES', 'URL'],
    Object.values(endpoints).map((e) => [e.id, e.story, `${target.sim}/receivers/…/${e.name}`]),
  );
  return endpoints;
}

interface Received {
  path: string;
  outcome: string;
  headers: Record<string, string>;
  signature?: { verified: boolean };
}

/**
 * Waits until each finished message's final event has reached the all-events endpoint and the
 * bounce has reached the other one, then reports; the number of problems found.
 */
export async function reportWebhooks(
  target: Target,
  endpoints: DemoEndpoints,
  finished: readonly ApiMessage[],
): Promise<number> {
  heading('Waiting for the webhook deliveries');
  const deadline = Date.now() + 60_000;
  let all: ApiWebhookDelivery[] = [];
  let bounced: ApiWebhookDelivery[] = [];
  const wanted = finished.map((m) => `${m.id} message.${m.status}`);
  const bounces = finished.filter((m) => m.status === 'bounced').length;
  for (;;) {
    all = (
      await api<{ items: ApiWebhookDelivery[] }>(
        target,
        'GET',
        `/v1/webhook-endpoints/${endpoints.all.id}/deliveries?limit=100`,
      )
    ).items;
    bounced = (
      await api<{ items: ApiWebhookDelivery[] }>(
        target,
        'GET',
        `/v1/webhook-endpoints/${endpoints.bounced.id}/deliveries`,
      )
    ).items;
    const got = new Set(
      all.filter((d) => d.status === 'succeeded').map((d) => `${d.messageId} ${d.eventType}`),
    );
    const done =
      wanted.every((key) => got.has(key)) &&
      bounced.filter((d) => d.status === 'succeeded').length === bounces;
    if (done || Date.now() > deadline) break;
    await sleep(250);
  }

  const byType = new Map<string, number>();
  for (const d of all) byType.set(d.eventType ?? '?', (byType.get(d.eventType ?? '?') ?? 0) + 1);
  say(`  ${endpoints.all.id} (every event) received ${all.length} deliveries:`);
  say(`    ${[...byType].map(([type, n]) => `${type} ${n}`).join(', ')}`);
  let problems = wanted.filter(
    (key) => !all.some((d) => `${d.messageId} ${d.eventType}` === key && d.status === 'succeeded'),
  ).length;

  const rows: Cell[][] = [];
  for (const d of bounced) {
    const detail = await api<{ attempts: ApiWebhookAttempt[] }>(
      target,
      'GET',
      `/v1/webhook-endpoints/${endpoints.bounced.id}/deliveries/${d.id}`,
    );
    const answers = detail.attempts.map((a) => String(a.response?.status ?? a.error?.code ?? '?'));
    rows.push([d.id, d.messageId ?? '', d.eventType ?? '', answers.join(' → '), d.status]);
    if (d.status !== 'succeeded' || answers.join(',') !== '503,503,200') problems += 1;
  }
  if (bounced.length !== bounces) problems += 1;
  say(
    `  ${endpoints.bounced.id} (bounces, 503 twice first), the same webhook-id on every attempt:`,
  );
  table(['WEBHOOK-ID', 'MESSAGE', 'TYPE', 'ANSWERS', 'STATUS'], rows, '    ');

  const calls = await http<{ requests: Received[] }>(
    'GET',
    `${target.sim}/_sim/requests?prefix=/receivers/&limit=1000`,
  );
  const received = calls.json?.requests ?? [];
  if (received.length === 0) problems += 1;
  const unverified = received.filter((r) => r.outcome !== '401' && r.signature?.verified !== true);
  const refused = received.filter((r) => r.outcome === '401');
  const signed = received.length - refused.length;
  if (unverified.length + refused.length > 0) problems += unverified.length + refused.length;
  say(
    (refused.length === 0 ? green : red)(
      `  The receiver checked every call's Standard Webhooks signature with the standardwebhooks package: ${signed} verified, ${refused.length} refused.`,
    ),
  );
  if (problems > 0)
    say(red(`  ${problems} webhook problem(s): a delivery missing, or not as expected.`));
  return problems;
}
