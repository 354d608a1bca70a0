// The demo's message controls: a cancel, a resend and a provider failover, each on a message of
// its own, sent after the fifteen and reported with their timelines.

import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiEvent, ApiMessage } from '@herald/read-model';
import { green, heading, red, say, statusStyle, table, yellow, type Cell } from './output';
import { http, type Target } from './target';

interface Control {
  name: string;
  story: string;
  /** The status the message ends in after its control. */
  expect: ApiMessage['status'];
  /** The event that shows the control worked. */
  shows: ApiEvent['type'];
}

const CONTROLS: readonly Control[] = [
  {
    name: 'cancel',
    story: 'rate limited (Retry-After 30 s), canceled while it waits',
    expect: 'canceled',
    shows: 'canceled',
  },
  {
    name: 'resend',
    story: 'SendGrid down until it gives up; back up, resent (clicked twice)',
    expect: 'sent',
    shows: 'resend_requested',
  },
  {
    name: 'failover',
    story: 'SendGrid answers 503; after failoverAfter, SMTP sends it',
    expect: 'sent',
    shows: 'provider_failover',
  },
];

/** Runs the three controls; the number that did not end as expected. */
export async function runControls(target: Target, runId: string): Promise<number> {
  heading('Message controls: cancel, resend, provider failover');
  const idOf = (name: string) => `demo-${runId}-control-${name}`;
  const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    http<Record<string, unknown>>(method, path, body, target.apiKey, headers);
  const register = (recipient: string, scripts: object) =>
    http('PUT', `${target.sim}/_sim/recipients/${encodeURIComponent(recipient)}`, scripts);
  const answers = new Map<string, string>();

  // Cancel: the retry waits a minute in a delay tier, and the API cancels it there.
  const cancelId = idOf('cancel');
  await send(api, target, {
    messageId: cancelId,
    channel: 'webhook',
    provider: 'webhook',
    recipient: `${target.sim}/hooks/retry-after-30-5/${cancelId}`,
    content: { body: 'never mind' },
    // Courier's 3-day window holds a 30 s Retry-After at any time scale; knock's 30 minutes
    // would not at the demo's.
    retryPolicy: 'courier',
  });
  // Resend: SendGrid refuses until the message is undelivered.
  const resendId = idOf('resend');
  const resendTo = `${resendId}@sim.test`;
  await register(resendTo, { send: 'always-503' });
  await send(api, target, {
    messageId: resendId,
    channel: 'email',
    provider: 'sendgrid',
    recipient: resendTo,
    content: { subject: 'Your receipt', text: 'Thanks!' },
  });
  // Failover: SendGrid, then SMTP; only SendGrid is scripted to fail.
  const failoverId = idOf('failover');
  const failoverTo = `${failoverId}@sim.test`;
  await register(failoverTo, { send: 'always-503', only: ['sendgrid'] });
  await send(api, target, {
    messageId: failoverId,
    channel: 'email',
    providers: ['sendgrid', 'smtp'],
    recipient: failoverTo,
    content: { subject: 'Your code', text: '123456' },
  });

  const status = async (id: string) =>
    (await api('GET', `${target.projector}/v1/messages/${id}`)).json as ApiMessage | undefined;
  const waitUntil = async (id: string, done: (m: ApiMessage) => boolean) => {
    const deadline = Date.now() + target.timeoutMs;
    for (;;) {
      const message = await status(id);
      if (message && done(message)) return message;
      if (Date.now() > deadline) return message;
      await sleep(200);
    }
  };

  await waitUntil(cancelId, (m) => m.status === 'delivery_attempted');
  const cancel = await api('POST', `${target.ingest}/v1/messages/${cancelId}/cancel`);
  answers.set('cancel', `POST …/cancel → ${cancel.status} ${JSON.stringify(cancel.json)}`);

  await waitUntil(resendId, (m) => m.status === 'undelivered');
  await register(resendTo, { send: 'ok' }); // SendGrid is back
  const click = { 'Idempotency-Key': `resend-${runId}` };
  const first = await api(
    'POST',
    `${target.ingest}/v1/messages/${resendId}/resend`,
    undefined,
    click,
  );
  const second = await api(
    'POST',
    `${target.ingest}/v1/messages/${resendId}/resend`,
    undefined,
    click,
  );
  answers.set(
    'resend',
    `POST …/resend ×2 (one Idempotency-Key) → ${first.status} ${String(first.json?.resend)}, ${second.status} ${String(second.json?.resend)}`,
  );

  let failures = 0;
  const rows: Cell[][] = [];
  for (const control of CONTROLS) {
    const id = idOf(control.name);
    const message = await waitUntil(id, (m) => m.status === control.expect);
    const events =
      ((await api('GET', `${target.projector}/v1/messages/${id}/events`)).json?.events as
        ApiEvent[] | undefined) ?? [];
    const ok = message?.status === control.expect && events.some((e) => e.type === control.shows);
    if (!ok) failures++;
    const end = message?.status ?? 'unknown';
    rows.push([
      id,
      control.story,
      {
        text: `${end}${message?.provider ? ` via ${message.provider}` : ''}`,
        style: ok ? statusStyle(end as ApiMessage['status']) : red,
      },
      timeline(events),
    ]);
  }
  say();
  table(['MESSAGE', 'SCENARIO', 'ENDED', 'TIMELINE'], rows);
  say();
  for (const [name, answer] of answers) say(`  ${name}: ${answer}`);
  const failover = (
    (await api('GET', `${target.projector}/v1/messages/${failoverId}/events`)).json?.events as
      ApiEvent[] | undefined
  )?.find((e) => e.type === 'provider_failover');
  if (failover?.failover)
    say(
      `  failover: providers ["sendgrid", "smtp"]; ${failover.failover.from} → ${failover.failover.to}: ${failover.failover.reason}`,
    );
  say(
    failures === 0
      ? green('  All three controls did what they say.')
      : red(`  ${failures} control(s) did not.`),
  );
  return failures;
}

async function send(
  api: (method: string, path: string, body?: unknown) => Promise<{ status: number; text: string }>,
  target: Target,
  body: Record<string, unknown>,
): Promise<void> {
  const response = await api('POST', `${target.ingest}/v1/messages`, body);
  if (response.status !== 202) {
    throw new Error(
      `POST /v1/messages answered ${response.status}: ${response.text.slice(0, 300)}`,
    );
  }
}

/** "queued → delivery_attempted ×3 → provider_failover → sent", repeats folded. */
function timeline(events: readonly ApiEvent[]): string {
  const parts: Array<{ type: string; n: number }> = [];
  for (const event of events) {
    const last = parts.at(-1);
    if (last?.type === event.type) last.n++;
    else parts.push({ type: event.type, n: 1 });
  }
  return parts.map(({ type, n }) => (n > 1 ? `${type} ×${n}` : type)).join(' → ') || yellow('none');
}
