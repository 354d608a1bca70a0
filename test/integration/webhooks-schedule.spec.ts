import { randomUUID } from 'node:crypto';
import { policyDelayMs } from '@herald/retry-policy';
import { WEBHOOK_SCHEDULE } from '@herald/webhooks';
import { waitFor } from '@tools/harness';
import { Herald } from '../support/herald';
import {
  createEndpoint,
  delivery,
  receivedBy,
  receiverUrl,
  removeAllEndpoints,
  waitForDeliveries,
  waitForReceived,
  webhooksApi,
  type Endpoint,
} from '../support/webhooks';

/**
 * Three days in under five minutes: the schedule's 259,095 s become 259 s, and the 5 days after
 * which an always-failing endpoint is disabled become 432 s. Each retry counts from the end of
 * the attempt before it, so every hop's lateness adds up over 295 retries; the 5-day rule leaves
 * 173 s for that (0.58 s per hop), enough on a loaded 2-core machine.
 */
const SCALE = 1e-3;

const run = randomUUID().slice(0, 8);

describe('the webhook schedule played out in full (the real broker, registry and MongoDB)', () => {
  let herald: Herald;
  /** Tenant B's endpoint for recover: three deliveries fail in full while the first test runs. */
  let recovering: Endpoint;
  let recoverSince = 0;

  beforeAll(async () => {
    herald = await Herald.start({ HERALD_TIME_SCALE: String(SCALE) }, ['webhooks']);
    await removeAllEndpoints(herald);
    await removeAllEndpoints(herald, herald.otherKey.key);
    const other = herald.otherKey.key;
    recovering = await createEndpoint(
      herald,
      'always-503',
      `recover-${run}`,
      { eventTypes: ['message.sent'] },
      other,
    );
    await herald.send(`wh-rec-0-${run}`, herald.hook('ok', `wh-rec-0-${run}`), {}, other);
    await waitForDeliveries(
      herald,
      recovering.id,
      'the first delivery',
      (items) => items.length === 1,
      120_000,
      other,
    );
    recoverSince = Date.now();
    for (const i of [1, 2]) {
      await herald.send(`wh-rec-${i}-${run}`, herald.hook('ok', `wh-rec-${i}-${run}`), {}, other);
    }
  }, 300_000);

  afterAll(async () => {
    if (herald) {
      await removeAllEndpoints(herald);
      await removeAllEndpoints(herald, herald.otherKey.key);
    }
    await herald?.stop();
  });

  it('makes 296 attempts on the schedule, none early, then fails the delivery; five days of failures disable the endpoint', async () => {
    const name = `always-failing-${run}`;
    const endpoint = await createEndpoint(herald, 'always-503', name, {
      eventTypes: ['message.sent'],
    });
    await herald.send(`wh-sched-1-${run}`, herald.hook('ok', `wh-sched-1-${run}`));
    const [failed] = await waitForDeliveries(
      herald,
      endpoint.id,
      'the delivery to fail after the whole schedule',
      (items) => items.some((d) => d.status === 'failed'),
      600_000,
    );
    const calls = receivedBy(herald, name);
    expect(calls).toHaveLength(296);
    expect(failed!.attempts).toBe(296);
    expect(failed!.reason).toContain('retries exhausted after 296 attempts');
    expect(new Set(calls.map((c) => c.headers['webhook-id'])).size).toBe(1);
    let nominal = 0;
    for (let retry = 1; retry < calls.length; retry++) {
      const delay = Math.ceil(policyDelayMs(WEBHOOK_SCHEDULE, retry, () => 0) * SCALE);
      nominal += delay;
      expect(calls[retry]!.receivedAt - calls[retry - 1]!.receivedAt).toBeGreaterThanOrEqual(delay);
    }
    // 2,595 s for the first ten delays, then 285 at 15 minutes: 259,095 s, scaled.
    expect(nominal).toBeGreaterThanOrEqual(Math.floor(259_095_000 * SCALE));
    expect(nominal).toBeLessThanOrEqual(Math.ceil(259_095_000 * SCALE) + 295);
    expect(calls[calls.length - 1]!.receivedAt - calls[0]!.receivedAt).toBeGreaterThanOrEqual(
      Math.floor(259_095_000 * SCALE),
    );
    process.stdout.write(
      `webhook schedule: 296 attempts over ${calls[calls.length - 1]!.receivedAt - calls[0]!.receivedAt} ms (nominal ${nominal} ms at scale ${SCALE})\n`,
    );

    // Still failing: a new delivery keeps failing until five (scaled) days since the first.
    await herald.send(`wh-sched-2-${run}`, herald.hook('ok', `wh-sched-2-${run}`));
    const disabled = await waitFor(
      'the endpoint to be disabled after five days of failures',
      async () => {
        const { body } = await webhooksApi<{
          enabled: boolean;
          disabledReason: string;
          failingSince: string;
        }>(herald, 'GET', `/v1/webhook-endpoints/${endpoint.id}`);
        return body.enabled ? undefined : body;
      },
      { timeoutMs: 600_000, intervalMs: 250 },
    );
    expect(disabled.disabledReason).toBe('failing');
    const fiveDays = 5 * 24 * 3600 * 1000 * SCALE;
    expect(Date.now() - calls[0]!.receivedAt).toBeGreaterThanOrEqual(fiveDays);
    const items = await waitForDeliveries(
      herald,
      endpoint.id,
      'the second delivery to fail',
      (list) => list.length === 2 && list.every((d) => d.status === 'failed'),
    );
    expect(items.find((d) => d.attempts < 296)!.reason).toContain('5 days');
  }, 900_000);

  it('recovers exactly the failed deliveries since the given time, and resends one delivery', async () => {
    const other = herald.otherKey.key;
    const name = `recover-${run}`;
    const failed = await waitForDeliveries(
      herald,
      recovering.id,
      'the three deliveries to fail',
      (items) => items.length === 3 && items.every((d) => d.status === 'failed'),
      600_000,
      other,
    );
    // The endpoint is fixed: it answers now.
    const patched = await webhooksApi(
      herald,
      'PATCH',
      `/v1/webhook-endpoints/${recovering.id}`,
      { url: receiverUrl(herald, 'ok', name) },
      other,
    );
    expect(patched.status).toBe(200);
    const before = receivedBy(herald, name).length;
    const recovered = await webhooksApi<{ resent: number; ids: string[] }>(
      herald,
      'POST',
      `/v1/webhook-endpoints/${recovering.id}/recover`,
      { since: new Date(recoverSince).toISOString() },
      other,
    );
    expect(recovered.status).toBe(202);
    const since = failed.filter((d) => Date.parse(d.createdAt!) >= recoverSince);
    expect(since).toHaveLength(2);
    expect(recovered.body.ids.sort()).toEqual(since.map((d) => d.id).sort());

    const got = (await waitForReceived(herald, name, before + 2)).slice(before);
    expect(got.map((r) => r.outcome)).toEqual(['200', '200']);
    expect(got.map((r) => r.headers['webhook-id']).sort()).toEqual(recovered.body.ids.sort());

    // The one before `since` is resent on its own, with its webhook-id.
    const first = failed.find((d) => Date.parse(d.createdAt!) < recoverSince)!;
    const resent = await webhooksApi(
      herald,
      'POST',
      `/v1/webhook-endpoints/${recovering.id}/deliveries/${first.id}/resend`,
      undefined,
      other,
    );
    expect(resent.status).toBe(202);
    const [again] = (await waitForReceived(herald, name, before + 3)).slice(before + 2);
    expect(again!.headers['webhook-id']).toBe(first.id);
    const detail = await waitFor(
      'the resent delivery to succeed',
      async () => {
        const d = await delivery(herald, recovering.id, first.id, other);
        return d.status === 'succeeded' ? d : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(detail.run).toBe(2);
    expect(detail.attempts.at(-1)).toMatchObject({ run: 2, attempt: 1, outcome: 'succeeded' });
    // Another tenant cannot resend it.
    const foreign = await webhooksApi(
      herald,
      'POST',
      `/v1/webhook-endpoints/${recovering.id}/deliveries/${first.id}/resend`,
    );
    expect(foreign.status).toBe(404);
  }, 900_000);
});
