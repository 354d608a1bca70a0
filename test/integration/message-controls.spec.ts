import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { createKafka } from '@herald/kafka';
import type { MessageEvent } from '@herald/messages';
import { foldEvents, toApiMessage } from '@herald/read-model';
import { AvroCodec, resolveSchemaDir } from '@herald/schema-registry';
import { TOPICS } from '@herald/topics';
import { waitFor } from '@tools/harness';
import { Herald, ms } from '../support/herald';
import { testEnv } from '../support/servers';
import { valuesWithKey } from '../support/topics';

/** knock's 5 minutes of failoverAfter take 3 s; its back-off starts at 35–70 ms. */
const SCALE = 0.01;
const FAILOVER_AFTER_MS = 5 * 60_000 * SCALE;
const run = randomUUID().slice(0, 8);
const id = (name: string) => `${name}-${run}`;

// `slow` keeps a retry in a delay tier for 12 s (20 minutes at SCALE), long enough to cancel it
// there; `twice` gives up after two attempts, for a message to resend.
const POLICIES = `
policies:
  slow:
    send: { kind: sequence, delays: [20m, 20m], maxRetries: 2, window: 3h }
  twice:
    send: { kind: sequence, delays: [1s], maxRetries: 1, window: 1h }
`;

describe('message controls against the real servers', () => {
  const env = testEnv();
  let herald: Herald;
  let dir: string;
  let kafka: Kafka;
  let codec: AvroCodec;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'herald-controls-'));
    const policies = join(dir, 'policies.yaml');
    writeFileSync(policies, POLICIES);
    herald = await Herald.start({
      HERALD_TIME_SCALE: String(SCALE),
      HERALD_PROVIDER_TIMEOUT_MS: '1000',
      HERALD_RETRY_POLICIES_FILE: policies,
    });
    kafka = createKafka({
      brokers: env.kafkaBrokers,
      clientId: 'herald-test',
      ...env.kafkaSecurity,
    });
    codec = AvroCodec.connect(env.schemaRegistryUrl, resolveSchemaDir(), env.registryAuth);
  });

  /**
   * The message as a rebuild would make it: its events read back from herald.message-events
   * and folded. The controls are facts in Kafka like every other, so it is the read model's.
   */
  const expectRebuildToMatch = async (messageId: string) => {
    const values = await valuesWithKey(kafka, TOPICS.messageEvents.name, messageId);
    const events = (await Promise.all(values.map((v) => codec.decode(v)))) as MessageEvent[];
    const folded = foldEvents(events.filter((e) => e.tenantId === herald.key.tenantId));
    expect(folded && toApiMessage(folded)).toEqual(await herald.message(messageId));
  };

  afterAll(async () => {
    await herald?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const eventsUntil = (messageId: string, type: string) =>
    waitFor(
      `${messageId} to record ${type}`,
      async () => {
        const events = await herald.events(messageId);
        return events.some((e) => e.type === type) ? events : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );

  describe('cancel', () => {
    it('cancels a message waiting out a 503 back-off: no attempt after it, and the tier record is dropped when due', async () => {
      const messageId = id('cancel-tier');
      await herald.send(messageId, herald.hook('always-503', messageId), { retryPolicy: 'slow' });
      const waiting = await eventsUntil(messageId, 'delivery_attempted');
      const retryDue = ms(waiting.at(-1)?.nextAttemptAt);
      expect(retryDue - Date.now()).toBeGreaterThan(5_000);
      expect((await herald.message(messageId))?.actions).toEqual({ cancel: true, resend: false });

      const canceled = await herald.control(messageId, 'cancel');
      expect(canceled).toEqual({ status: 200, body: { messageId, status: 'canceled' } });
      const { message, events } = await herald.final(messageId);
      expect(message).toMatchObject({ status: 'canceled', attempts: 1 });
      expect(message.actions).toEqual({ cancel: false, resend: true });
      expect(ms(message.canceledAt)).toBeLessThan(retryDue);
      expect(events.map((e) => e.type)).toEqual(['queued', 'delivery_attempted', 'canceled']);

      // The retry comes due in its tier, reaches the sender, and is dropped there.
      await waitFor(
        'the sender to drop the canceled retry',
        () =>
          herald.service('sender').output().includes(`dropping ${messageId}`) ? true : undefined,
        { timeoutMs: 30_000 },
      );
      expect(herald.received(messageId)).toHaveLength(1);
      expect((await herald.events(messageId)).map((e) => e.type)).toEqual([
        'queued',
        'delivery_attempted',
        'canceled',
      ]);
      // Canceling again changes nothing.
      expect((await herald.control(messageId, 'cancel')).status).toBe(200);
      await expectRebuildToMatch(messageId);
    });

    it('answers 409 too_late for a message already sent, and 404 for another tenant', async () => {
      const messageId = id('cancel-sent');
      await herald.send(messageId, herald.hook('ok', messageId));
      const { message } = await herald.final(messageId);
      expect(message.status).toBe('sent');
      expect(message.actions).toEqual({ cancel: false, resend: false });
      expect(await herald.control(messageId, 'cancel')).toEqual({
        status: 409,
        body: expect.objectContaining({ error: 'too_late', status: 'sent' }),
      });
      const other = await herald.control(messageId, 'cancel', { key: herald.otherKey.key });
      expect(other.status).toBe(404);
    });

    it('lets a call in flight finish, records it, and starts nothing after it', async () => {
      const messageId = id('cancel-in-flight');
      // The first call hangs until the 1 s provider timeout; a retry would follow it.
      await herald.send(messageId, herald.hook('hang-1', messageId));
      await waitFor('the call to reach the provider', () =>
        herald.received(messageId).length > 0 ? true : undefined,
      );
      const canceled = await herald.control(messageId, 'cancel');
      expect([200, 202]).toContain(canceled.status);
      const { message, events } = await herald.final(messageId);
      expect(message.status).toBe('canceled');
      expect(events.map((e) => e.type)).toEqual(['queued', 'delivery_attempted', 'canceled']);
      expect(herald.received(messageId)).toHaveLength(1);
    });
  });

  describe('resend', () => {
    it('resends an undelivered message once its provider recovers, once per Idempotency-Key', async () => {
      const messageId = id('resend');
      // Two 503s use up `twice`; the third call, the resend's, succeeds.
      await herald.send(messageId, herald.hook('fail-503-2', messageId), { retryPolicy: 'twice' });
      const ended = await herald.final(messageId);
      expect(ended.message).toMatchObject({ status: 'undelivered', attempts: 2 });
      expect(ended.message.actions).toEqual({ cancel: false, resend: true });

      const headers = { 'Idempotency-Key': `click-${run}` };
      const first = await herald.control(messageId, 'resend', { headers });
      expect(first).toEqual({
        status: 202,
        body: { messageId, status: 'queued', resend: 'accepted' },
      });
      const again = await herald.control(messageId, 'resend', { headers });
      expect(again).toEqual({
        status: 202,
        body: { messageId, status: 'queued', resend: 'repeated' },
      });

      const sent = await waitFor('the resend to be sent', async () => {
        const message = await herald.message(messageId);
        return message?.status === 'sent' ? message : undefined;
      });
      expect(sent).toMatchObject({ attempts: 3, resends: 1 });
      const events = await herald.events(messageId);
      expect(events.map((e) => [e.seq, e.type])).toEqual([
        [1, 'queued'],
        [2, 'delivery_attempted'],
        [3, 'undelivered'],
        [4, 'resend_requested'],
        [5, 'sent'],
      ]);
      expect(events[4]?.attempt).toBe(3);
      expect(herald.received(messageId)).toHaveLength(3);
      await expectRebuildToMatch(messageId);
      // A different key now finds the message sent: nothing to resend.
      const late = await herald.control(messageId, 'resend', {
        headers: { 'Idempotency-Key': `other-${run}` },
      });
      expect(late).toEqual({
        status: 409,
        body: expect.objectContaining({ error: 'not_resendable', status: 'sent' }),
      });
    });

    it('answers 409 for a message still in progress', async () => {
      const messageId = id('resend-early');
      await herald.send(messageId, herald.hook('always-503', messageId), { retryPolicy: 'slow' });
      await eventsUntil(messageId, 'delivery_attempted');
      expect(await herald.control(messageId, 'resend')).toEqual({
        status: 409,
        body: expect.objectContaining({ error: 'not_resendable', status: 'delivery_attempted' }),
      });
      expect((await herald.control(messageId, 'cancel')).status).toBe(200);
    });
  });

  describe('provider failover', () => {
    const email = (messageId: string) => ({
      messageId,
      channel: 'email',
      providers: ['sendgrid', 'smtp'],
      content: { subject: `failover ${messageId}`, text: 'hello' },
    });

    it('moves from SendGrid answering 503 to SMTP after failoverAfter, and sends through SMTP', async () => {
      const messageId = id('failover-503');
      const recipient = `${messageId}@sim.test`;
      await herald.script(recipient, { send: 'always-503', only: ['sendgrid'] });
      const posted = await herald.post({ ...email(messageId), recipient });
      expect(posted.status).toBe(202);

      const { message, events } = await herald.final(messageId);
      expect(message).toMatchObject({
        status: 'sent',
        provider: 'smtp',
        providers: ['sendgrid', 'smtp'],
      });
      const failover = events.find((e) => e.type === 'provider_failover');
      expect(failover?.failover).toEqual({
        from: 'sendgrid',
        to: 'smtp',
        reason: expect.stringContaining('kept failing'),
      });
      const attempts = events.filter((e) => e.type === 'delivery_attempted');
      expect(attempts.length).toBeGreaterThan(1);
      expect(attempts.every((e) => e.provider === 'sendgrid')).toBe(true);
      expect(ms(failover?.occurredAt) - ms(attempts[0]?.occurredAt)).toBeGreaterThanOrEqual(
        FAILOVER_AFTER_MS,
      );
      expect(events.at(-1)).toMatchObject({ type: 'sent', provider: 'smtp' });
      expect(events.map((e) => e.type).slice(-2)).toEqual(['provider_failover', 'sent']);
      // Each call's log names the provider it went to.
      const logs = await herald.logs(messageId);
      expect(logs.at(-1)?.provider).toBe('smtp');
      expect(logs.at(0)?.provider).toBe('sendgrid');
      await expectRebuildToMatch(messageId);
    });

    it('fails over at once when the primary answers 400', async () => {
      const messageId = id('failover-400');
      const recipient = `${messageId}@sim.test`;
      await herald.script(recipient, { send: 'always-400', only: ['sendgrid'] });
      expect((await herald.post({ ...email(messageId), recipient })).status).toBe(202);

      const { message, events } = await herald.final(messageId);
      expect(events.map((e) => [e.type, e.provider])).toEqual([
        ['queued', null],
        ['delivery_attempted', 'sendgrid'],
        ['provider_failover', null],
        ['sent', 'smtp'],
      ]);
      expect(events[2]?.failover).toMatchObject({ from: 'sendgrid', to: 'smtp' });
      expect(message).toMatchObject({ status: 'sent', provider: 'smtp', attempts: 2 });
    });

    it('refuses a chain naming an unknown provider, naming the field', async () => {
      const messageId = id('failover-bad');
      const posted = await herald.post({
        ...email(messageId),
        providers: ['sendgrid', 'nope'],
        recipient: `${messageId}@sim.test`,
      });
      expect(posted.status).toBe(400);
      expect(posted.body).toMatchObject({
        problems: [expect.objectContaining({ field: 'providers' })],
      });
    });
  });
});
