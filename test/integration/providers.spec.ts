import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { MongoClient } from 'mongodb';
import type { Channel } from '@herald/messages';
import { createKafka } from '@herald/kafka';
import { createMongoClient, heraldDb } from '@herald/mongo';
import { CHECKS_EXHAUSTED } from '@herald/decisions';
import { apnsIdFor } from '@herald/providers';
import type { ApiEvent, ApiMessage } from '@herald/read-model';
import { BUILT_IN_POLICIES, maxAttemptsOf } from '@herald/retry-policy';
import { TOPICS } from '@herald/topics';
import { Herald, ms } from '../support/herald';
import { localServer } from '@tools/harness';
import { testEnv } from '../support/servers';
import { readWholeTopic, valuesWithKey } from '../support/topics';
import { waitFor } from '@tools/harness';

/** Knock's 30 minutes take 18 s; its 10 status-check retries about 15 s. */
const SCALE = 0.01;
const run = randomUUID().slice(0, 8);
let serial = 0;
const uid = (name: string) => `${name}-${run}-${++serial}`;
/** A fresh E.164 number per message, so the simulator's per-recipient scripts never mix. */
const phone = () => `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;

const TERMINAL = ['delivered', 'undelivered', 'bounced', 'not_sent'];
const knockChecks = BUILT_IN_POLICIES.knock.statusCheck!;

interface ChannelCase {
  provider: string;
  channel: Channel;
  /** A recipient whose simulator script is `script`. */
  recipient: (script: string, herald: Herald) => Promise<string>;
  content: Record<string, string>;
  /** What the accepted send records: `delivered` where the provider confirms synchronously. */
  accepted: 'sent' | 'delivered';
  /** Where a first-attempt success ends: `sent`, or `delivered` (synchronously or by checks). */
  success: 'sent' | 'delivered';
  retryable: { script: string; code: RegExp };
  final: { script: string; code: RegExp };
}

const inline = (domain?: string) => async (script: string) =>
  domain ? `${script}+${uid('r')}@${domain}` : `${script}+${uid('r')}`;

const CASES: ChannelCase[] = [
  {
    provider: 'sendgrid',
    accepted: 'sent',
    channel: 'email',
    recipient: inline('sim.test'),
    content: { subject: 'Welcome', text: 'Hello from Herald', html: '<p>Hello</p>' },
    success: 'delivered',
    retryable: { script: 'fail-503-1', code: /503/ },
    final: { script: 'fail-400-1', code: /400/ },
  },
  {
    provider: 'smtp',
    accepted: 'sent',
    channel: 'email',
    recipient: inline('sim.test'),
    content: { subject: 'Welcome', text: 'Hello from Herald' },
    success: 'sent',
    retryable: { script: 'fail-451-1', code: /^smtp_451$/ },
    final: { script: 'fail-550-1', code: /^smtp_550$/ },
  },
  {
    provider: 'twilio',
    accepted: 'sent',
    channel: 'sms',
    recipient: async (script, herald) => {
      const number = phone();
      await herald.script(number, { send: script });
      return number;
    },
    content: { text: 'Your code is 123456' },
    success: 'delivered',
    retryable: { script: 'error-20429-1', code: /^twilio_20429$/ },
    final: { script: 'error-21211-1', code: /^twilio_21211$/ },
  },
  {
    provider: 'slack',
    accepted: 'delivered',
    channel: 'chat',
    recipient: inline(),
    content: { text: 'Deploy finished' },
    success: 'delivered',
    retryable: { script: 'error-ratelimited-1', code: /^slack_ratelimited$/ },
    final: { script: 'error-channel_not_found-1', code: /^slack_channel_not_found$/ },
  },
  {
    provider: 'fcm',
    accepted: 'sent',
    channel: 'push',
    recipient: inline(),
    content: { title: 'Hi', text: 'You have a message', badge: '1' },
    success: 'sent',
    retryable: { script: 'error-UNAVAILABLE-1', code: /^fcm_UNAVAILABLE$/ },
    final: { script: 'error-UNREGISTERED-1', code: /^fcm_UNREGISTERED$/ },
  },
  {
    provider: 'apns',
    accepted: 'sent',
    channel: 'push',
    recipient: inline(),
    content: { title: 'Hi', text: 'You have a message' },
    success: 'sent',
    retryable: { script: 'fail-503-1', code: /^apns_ServiceUnavailable$/ },
    final: { script: 'error-BadDeviceToken-1', code: /^apns_BadDeviceToken$/ },
  },
];

describe('provider adapters and status checks against the real servers and the simulator', () => {
  const env = testEnv();
  let herald: Herald;
  let kafka: Kafka;
  let mongo: MongoClient;

  beforeAll(async () => {
    herald = await Herald.start({ HERALD_TIME_SCALE: String(SCALE) }, ['status-checker']);
    kafka = createKafka({
      brokers: env.kafkaBrokers,
      clientId: 'herald-test-providers',
      ...env.kafkaSecurity,
    });
    mongo = await createMongoClient(env.mongodbUri).connect();
  });

  afterAll(async () => {
    await herald?.stop();
    await mongo?.close();
  });

  const send = async (
    c: { channel: Channel; provider: string },
    recipient: string,
    content: Record<string, string>,
  ) => {
    const messageId = uid(c.provider);
    await herald.send(messageId, recipient, { channel: c.channel, provider: c.provider, content });
    return messageId;
  };

  /** Waits until the message reaches one of `statuses` and its timeline shows it. */
  const until = (messageId: string, statuses: string[], timeoutMs = 60_000) =>
    waitFor(
      `${messageId} to reach ${statuses.join('/')}`,
      async () => {
        const message = await herald.message(messageId);
        if (!message || !statuses.includes(message.status)) return undefined;
        const events = await herald.events(messageId);
        return events.some((e) => e.status === message.status && e.seq === events.length)
          ? { message, events }
          : undefined;
      },
      { timeoutMs, intervalMs: 200 },
    );

  describe.each(CASES)('$channel via $provider', (c) => {
    it('succeeds on the first attempt', async () => {
      const messageId = await send(c, await c.recipient('ok', herald), c.content);
      const { message, events } = await until(messageId, [c.success]);
      expect(message.attempts).toBe(1);
      expect(events[1]).toMatchObject({ type: c.accepted, attempt: 1 });
      expect(message.providerMessageId).toEqual(expect.any(String));
      const [log] = await herald.logs(messageId);
      // Every provider call carries the message id so a provider can deduplicate a retry (APNs
      // takes a UUID: one derived from the message id).
      const key = c.provider === 'apns' ? apnsIdFor(messageId) : messageId;
      expect(JSON.stringify(log?.request)).toContain(key);
    });

    it('retries a retryable failure, then succeeds', async () => {
      const messageId = await send(c, await c.recipient(c.retryable.script, herald), c.content);
      const { message, events } = await until(messageId, [c.success]);
      const attempted = events.filter((e) => e.type === 'delivery_attempted');
      expect(attempted).toHaveLength(1);
      expect(['retryable', 'network']).toContain(attempted[0]?.error?.category);
      expect(attempted[0]?.error?.code).toMatch(c.retryable.code);
      expect(message.attempts).toBe(2);
    });

    it('ends undelivered at once on a final failure', async () => {
      const messageId = await send(c, await c.recipient(c.final.script, herald), c.content);
      const { message, events } = await until(messageId, ['undelivered']);
      expect(events.map((e) => e.type)).toEqual(['queued', 'undelivered']);
      expect(message.attempts).toBe(1);
      expect(message.lastError?.category).toBe('non_retryable');
      expect(message.lastError?.code).toMatch(c.final.code);
    });
  });

  it('records the apns-id APNs answers with as the provider message id', async () => {
    const messageId = await send({ channel: 'push', provider: 'apns' }, `ok+${uid('tok')}`, {
      text: 'x',
    });
    const { message } = await until(messageId, ['sent']);
    const [log] = await herald.logs(messageId);
    expect(message.providerMessageId).toBe(log?.response?.headers['apns-id']);
  });

  describe('in-app', () => {
    it('is delivered once stored in the recipient feed, read back cursor-paged', async () => {
      const recipient = uid('user');
      const ids: string[] = [];
      for (let i = 0; i < 3; i += 1) {
        const messageId = await send({ channel: 'in_app', provider: 'in_app' }, recipient, {
          title: `n${i}`,
          body: 'hello',
        });
        await until(messageId, ['delivered']);
        ids.push(messageId);
      }
      const first = await herald.feed(recipient, '?limit=2');
      expect(first.items.map((item) => item.id)).toEqual([ids[2], ids[1]]);
      expect(first.items[0]).toMatchObject({ recipient, content: { title: 'n2', body: 'hello' } });
      const second = await herald.feed(recipient, `?limit=2&cursor=${first.nextCursor ?? ''}`);
      expect(second.items.map((item) => item.id)).toEqual([ids[0]]);
      expect(second.nextCursor).toBeNull();
      const bad = await herald.api<{ problems: { field: string }[] }>(
        `/v1/recipients/${recipient}/feed?limit=0`,
      );
      expect(bad.status).toBe(400);
      expect(bad.body.problems[0]?.field).toBe('limit');
    });

    it('ends undelivered at once when the content can never fit a feed item', async () => {
      const messageId = await send({ channel: 'in_app', provider: 'in_app' }, uid('user'), {
        body: 'x'.repeat(40_000),
      });
      const { message } = await until(messageId, ['undelivered']);
      expect(message.lastError).toMatchObject({
        category: 'non_retryable',
        code: 'content_too_large',
      });
    });

    // Only the local servers are ours to stop and start.
    const localOnly = process.env.HERALD_TEST_SERVERS === 'local' ? it : it.skip;
    localOnly('retries while MongoDB is down, then delivers once', async () => {
      const sender = herald.service('sender');
      const recipient = uid('user');
      // Hold the sender so the message is queued (ingest needs MongoDB for its dedupe claim)
      // before the database goes away under the sender's attempt.
      sender.process.kill('SIGSTOP');
      let resumed = false;
      try {
        const messageId = await send({ channel: 'in_app', provider: 'in_app' }, recipient, {
          body: 'hi',
        });
        await until(messageId, ['queued']);
        expect(localServer('ferretdb', 'stop')).toBe(0);
        sender.process.kill('SIGCONT');
        resumed = true;
        // queued plus at least one failed attempt on the events topic.
        await waitFor(
          'a failed in-app attempt',
          async () =>
            (await valuesWithKey(kafka, TOPICS.messageEvents.name, messageId)).length >= 2
              ? true
              : undefined,
          { timeoutMs: 20_000, intervalMs: 250 },
        );
        expect(localServer('ferretdb', 'start')).toBe(0);
        const { message, events } = await until(messageId, ['delivered']);
        const failed = events.filter((e) => e.type === 'delivery_attempted');
        expect(failed.length).toBeGreaterThanOrEqual(1);
        expect(failed[0]?.error?.category).toBe('internal');
        expect(message.attempts).toBe(failed.length + 1);
        expect((await herald.feed(recipient)).items.map((i) => i.id)).toEqual([messageId]);
      } finally {
        if (!resumed) sender.process.kill('SIGCONT');
        if (localServer('ferretdb', 'status') !== 0) localServer('ferretdb', 'start');
      }
    });
  });

  describe('status checks', () => {
    /** Every check's gap from the event before, checked against the knock status-check schedule. */
    const expectSpacedByPolicy = (events: ApiEvent[]) => {
      const checks = events.filter((e) => e.type === 'status_check_attempted');
      for (let i = 1; i < checks.length; i += 1) {
        const previous = checks[i - 1]!;
        const nominal =
          knockChecks.kind === 'exponential'
            ? knockChecks.baseMs * knockChecks.factor ** (i - 1) * SCALE
            : 0;
        const gap = ms(checks[i]!.occurredAt) - ms(previous.occurredAt);
        // Equal jitter: never under half the nominal delay, and never before it was announced.
        expect(gap).toBeGreaterThanOrEqual(Math.floor(nominal / 2));
        expect(ms(checks[i]!.occurredAt)).toBeGreaterThanOrEqual(ms(previous.nextAttemptAt));
      }
    };

    const sms = async (status: string, check?: string) => {
      const number = phone();
      await herald.script(number, { status, ...(check ? { check } : {}) });
      return send({ channel: 'sms', provider: 'twilio' }, number, { text: 'code 42' });
    };
    it('SMS: polls Twilio until it reports delivered, spacing checks by the policy', async () => {
      const messageId = await sms('delivered-after-1500');
      const { message, events } = await until(messageId, TERMINAL);
      expect(message.status).toBe('delivered');
      const types = events.map((e) => e.type);
      expect(types.slice(0, 2)).toEqual(['queued', 'sent']);
      expect(types[types.length - 1]).toBe('delivered');
      expect(types.filter((t) => t === 'status_check_attempted').length).toBeGreaterThanOrEqual(1);
      expect(message.statusChecks).toBe(types.length - 3);
      expectSpacedByPolicy(events);
      const logs = await herald.logs(messageId);
      // One send and one GET per check, every one logged with the credentials redacted.
      expect(logs).toHaveLength(events.length - 2);
      expect(
        logs
          .slice(1)
          .every(
            (l) => l.request.method === 'GET' && /Messages\/SM[0-9a-f]+\.json$/.test(l.request.url),
          ),
      ).toBe(true);
      expect(logs.every((l) => l.request.headers.authorization === 'Basic [REDACTED]')).toBe(true);
    });

    it.each([
      ['undelivered-after-800', 'undelivered', 'twilio_30005'],
      ['failed-after-800', 'bounced', 'twilio_30008'],
    ])(
      'SMS: Twilio status %s ends the message %s with the error code',
      async (script, status, code) => {
        const messageId = await sms(script);
        const { message, events } = await until(messageId, TERMINAL);
        expect(message.status).toBe(status);
        expect(message.lastError).toMatchObject({ category: 'non_retryable', code });
        expectSpacedByPolicy(events);
      },
    );

    it('SMS: a failed check is retried like a send', async () => {
      const messageId = await sms('delivered-after-0', 'fail-503-1');
      const { message, events } = await until(messageId, TERMINAL);
      expect(message.status).toBe('delivered');
      const failedCheck = events.find((e) => e.type === 'status_check_attempted');
      expect(failedCheck?.error).toMatchObject({ category: 'retryable' });
      expect(failedCheck?.nextAttemptAt).not.toBeNull();
    });

    it('email: polls SendGrid until delivered, or until it reports the message bounced', async () => {
      const deliveredAddress = `ok+${uid('m')}@sim.test`;
      const bouncedAddress = `ok+${uid('m')}@sim.test`;
      await herald.script(deliveredAddress, { status: 'delivered-after-1000' });
      await herald.script(bouncedAddress, { status: 'undelivered-after-1000' });
      const content = { subject: 's', text: 't' };
      const delivered = await send(
        { channel: 'email', provider: 'sendgrid' },
        deliveredAddress,
        content,
      );
      const bounced = await send(
        { channel: 'email', provider: 'sendgrid' },
        bouncedAddress,
        content,
      );

      const one = await until(delivered, TERMINAL);
      expect(one.message.status).toBe('delivered');
      expect(one.events.some((e) => e.type === 'status_check_attempted')).toBe(true);
      expectSpacedByPolicy(one.events);
      const two = await until(bounced, TERMINAL);
      expect(two.message.status).toBe('bounced');
      expect(two.message.lastError).toMatchObject({
        category: 'non_retryable',
        code: 'sendgrid_not_delivered',
      });
      expectSpacedByPolicy(two.events);
    });

    it('stays sent after exactly the policy number of checks when the provider never answers', async () => {
      const messageId = await sms('pending');
      const checks = maxAttemptsOf(knockChecks);
      const { message, events } = await waitFor(
        `${messageId} to run out of status checks`,
        async () => {
          const m: ApiMessage | undefined = await herald.message(messageId);
          if (!m || m.statusChecks < checks) return undefined;
          return { message: m, events: await herald.events(messageId) };
        },
        { timeoutMs: 60_000, intervalMs: 250 },
      );
      expect(message.status).toBe('sent');
      expect(message.statusChecks).toBe(checks);
      const attempted = events.filter((e) => e.type === 'status_check_attempted');
      expect(attempted.map((e) => e.attempt)).toEqual(
        Array.from({ length: checks }, (_, i) => i + 1),
      );
      const last = attempted[attempted.length - 1]!;
      expect(last.nextAttemptAt).toBeNull();
      expect(last.error).toMatchObject({ code: CHECKS_EXHAUSTED });
      expect(ms(last.occurredAt) - ms(events[1]!.occurredAt)).toBeLessThanOrEqual(
        knockChecks.windowMs * SCALE,
      );
      expectSpacedByPolicy(events);
    });
  });

  it('never writes a configured credential to the events topic, MongoDB or the service logs', async () => {
    expect(herald.secrets.length).toBeGreaterThanOrEqual(6);
    const db = heraldDb(mongo, env.mongodbUri);
    for (const { name } of await db.listCollections().toArray()) {
      const docs = JSON.stringify(await db.collection(name).find().toArray());
      for (const secret of herald.secrets) expect(docs).not.toContain(secret);
    }
    const raw = await readWholeTopic(kafka, TOPICS.messageEvents.name);
    for (const secret of herald.secrets) expect(raw.includes(Buffer.from(secret))).toBe(false);
    // Nor to what the services print.
    const printed = herald.services.map((service) => service.output()).join('\n');
    expect(printed.length).toBeGreaterThan(0);
    for (const secret of herald.secrets) expect(printed).not.toContain(secret);
  });
});
