import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import type { MongoClient } from 'mongodb';
import { createKafka, readToEnd } from '@herald/kafka';
import { createMongoClient, heraldDb } from '@herald/mongo';
import { BUILT_IN_POLICIES } from '@herald/retry-policy';
import { TOPICS } from '@herald/topics';
import { Herald, ms, runRebuild } from '../support/herald';
import { testEnv } from '../support/servers';
import { readWholeTopic } from '../support/topics';
import { waitFor } from '@tools/harness';

/** 30 minutes of knock's schedule take 18 s. */
const SCALE = 0.01;
const SECRET_HEADER = `hdr-${randomUUID()}`;
const SECRET_QUERY = `qry-${randomUUID()}`;
const run = randomUUID().slice(0, 8);
const id = (name: string) => `${name}-${run}`;

const knockNominal = (retry: number) => 7000 * 2 ** (retry - 1) * SCALE;

describe('the delivery pipeline against the real servers', () => {
  const env = testEnv();
  let herald: Herald;
  let kafka: Kafka;
  let producer: Producer;
  let mongo: MongoClient;

  beforeAll(async () => {
    herald = await Herald.start({
      HERALD_TIME_SCALE: String(SCALE),
      HERALD_PROVIDER_TIMEOUT_MS: '1000',
      HERALD_WEBHOOK_HEADERS: JSON.stringify({ Authorization: `Bearer ${SECRET_HEADER}` }),
      HERALD_WEBHOOK_HEADER_HOSTS: '127.0.0.1', // the simulator's host
    });
    kafka = createKafka({
      brokers: env.kafkaBrokers,
      clientId: 'herald-test',
      ...env.kafkaSecurity,
    });
    producer = kafka.producer();
    await producer.connect();
    mongo = await createMongoClient(env.mongodbUri).connect();
  });

  afterAll(async () => {
    await herald?.stop();
    await producer?.disconnect();
    await mongo?.close();
  });

  it('delivers on the first attempt: queued → sent, one attempt, a redacted log', async () => {
    const messageId = id('ok');
    await herald.send(messageId, herald.hook('ok', messageId, `?api_key=${SECRET_QUERY}`));
    const { message, events } = await herald.final(messageId);

    expect(events.map((e) => e.type)).toEqual(['queued', 'sent']);
    expect(message).toMatchObject({ status: 'sent', attempts: 1, lastError: null });
    const [log] = await herald.logs(messageId);
    expect(log?.request.url).toContain('api_key=[REDACTED]');
    expect(log?.request.headers.authorization).toBe('Bearer [REDACTED]');
    expect(log?.request.headers['idempotency-key']).toBe(messageId);
    expect(log?.response?.status).toBe(200);

    const received = herald.received(messageId);
    expect(received).toHaveLength(1);
    // The provider itself gets the real credential and the idempotency key.
    expect(received[0]?.headers.authorization).toBe(`Bearer ${SECRET_HEADER}`);
    expect(received[0]?.headers['idempotency-key']).toBe(messageId);
  });

  it('retries 503, 503 then sends, spacing attempts by the knock policy and never early', async () => {
    const messageId = id('503x2');
    await herald.send(messageId, herald.hook('fail-503-2', messageId), { retryPolicy: 'knock' });
    const { message, events } = await herald.final(messageId);

    expect(events.map((e) => e.type)).toEqual([
      'queued',
      'delivery_attempted',
      'delivery_attempted',
      'sent',
    ]);
    expect(message).toMatchObject({ status: 'sent', attempts: 3, maxAttempts: 9 });
    const attempts = events.filter((e) => e.type === 'delivery_attempted');
    for (const attempt of attempts) {
      expect(attempt.nextAttemptAt).not.toBeNull();
      expect(attempt.error).toMatchObject({ category: 'retryable', code: 'http_503' });
    }
    const received = herald.received(messageId).map((r) => r.receivedAt);
    expect(received).toHaveLength(3);
    for (let retry = 1; retry <= 2; retry += 1) {
      const gap = received[retry]! - received[retry - 1]!;
      // Equal jitter: between half and all of the nominal delay, plus the pipeline's own latency.
      expect(gap).toBeGreaterThanOrEqual(knockNominal(retry) / 2);
      expect(gap).toBeLessThan(knockNominal(retry) + 2_000);
      // Never before the time the event announced.
      expect(received[retry]!).toBeGreaterThanOrEqual(ms(attempts[retry - 1]!.nextAttemptAt));
    }
  });

  it('gives up after exactly 9 attempts under knock, inside the scaled 30-minute window', async () => {
    const messageId = id('always503');
    await herald.send(messageId, herald.hook('always-503', messageId), { retryPolicy: 'knock' });
    const { message, events } = await herald.final(messageId, 90_000);

    expect(message.status).toBe('undelivered');
    expect(message.attempts).toBe(9);
    expect(message.lastError?.message).toMatch(/retries exhausted after 9 attempts/);
    expect(events.filter((e) => e.type === 'delivery_attempted')).toHaveLength(8);
    const received = herald.received(messageId).map((r) => r.receivedAt);
    expect(received).toHaveLength(9);
    expect(received[8]! - received[0]!).toBeLessThanOrEqual(
      BUILT_IN_POLICIES.knock.send.windowMs * SCALE,
    );
    const scheduled = events.filter((e) => e.nextAttemptAt).map((e) => ms(e.nextAttemptAt));
    scheduled.forEach((due, i) => expect(received[i + 1]!).toBeGreaterThanOrEqual(due));
  });

  it('ends undelivered after one attempt on a 400', async () => {
    const messageId = id('400');
    await herald.send(messageId, herald.hook('always-400', messageId));
    const { message, events } = await herald.final(messageId);
    expect(events.map((e) => e.type)).toEqual(['queued', 'undelivered']);
    expect(message).toMatchObject({ status: 'undelivered', attempts: 1 });
    expect(message.lastError).toMatchObject({ category: 'non_retryable', code: 'http_400' });
    expect(herald.received(messageId)).toHaveLength(1);
  });

  it('honours Retry-After on a 429: the next attempt is no earlier than it says', async () => {
    const messageId = id('429');
    await herald.send(messageId, herald.hook('retry-after-1-1', messageId), {
      retryPolicy: 'knock',
    });
    const { message } = await herald.final(messageId);
    expect(message.status).toBe('sent');
    const [first, second] = herald.received(messageId);
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(1_000);
  });

  it.each([
    ['reset-1', 'a connection reset'],
    ['hang-1', 'a timeout'],
  ])('classifies %s (%s) as network and retries it', async (script) => {
    const messageId = id(script);
    await herald.send(messageId, herald.hook(script, messageId), { retryPolicy: 'knock' });
    const { message, events } = await herald.final(messageId);
    expect(message.status).toBe('sent');
    expect(events[1]).toMatchObject({ type: 'delivery_attempted', error: { category: 'network' } });
  });

  it('delivers a repeated messageId once, also when two ingest instances see it at once', async () => {
    await herald.startAnother('ingest');
    const messageId = id('dup');
    const recipient = herald.hook('ok', messageId);
    await Promise.all([herald.send(messageId, recipient), herald.send(messageId, recipient)]);
    await herald.send(messageId, recipient);
    const { events } = await herald.final(messageId);
    expect(events.filter((e) => e.type === 'queued')).toHaveLength(1);
    // The later copies are ignored by ingest; wait until both copies surely passed it.
    const later = id('dup-after');
    await herald.send(later, herald.hook('ok', later));
    await herald.final(later);
    expect(herald.received(messageId)).toHaveLength(1);
  });

  it('dead-letters bad records with the reason and offset, and delivers the messages behind them', async () => {
    const key = id('poison');
    const topic = TOPICS.messagesRequested.name;
    const unknownSchema = Buffer.concat([
      Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0]),
      Buffer.from('x'),
    ]);
    const [garbage] = await producer.send({
      topic,
      messages: [{ key, value: Buffer.from('not avro') }],
    });
    const [unknown] = await producer.send({ topic, messages: [{ key, value: unknownSchema }] });
    // Same key, same partition: this one waits behind the two bad records.
    await herald.send(key, herald.hook('ok', key));
    expect((await herald.final(key)).message.status).toBe('sent');

    // The message behind them was delivered, so the dead letters were committed before it.
    const dead = await readDeadLetters(kafka, key);
    expect(dead.map((d) => d.offset)).toEqual([garbage!.baseOffset, unknown!.baseOffset]);
    expect(dead[0]!.reason).toMatch(/not in the Confluent wire format/);
    expect(dead[1]!.reason).toMatch(/schema id 2147483632/);
    for (const d of dead) expect(d.sourceTopic).toBe(topic);
  });

  it('answers 400 naming the field, and 404 for an unknown message', async () => {
    const bad = await herald.post({
      channel: 'webhook',
      provider: 'webhook',
      recipient: 'ftp://x',
      content: {},
    });
    expect(bad.status).toBe(400);
    expect(bad.body.problems).toEqual([expect.objectContaining({ field: 'recipient' })]);
    const unknown = await herald.api<{ error: string }>(`/v1/messages/${id('nope')}`);
    expect(unknown).toEqual({ status: 404, body: expect.objectContaining({ error: 'not_found' }) });
    const query = await herald.api<{ problems: { field: string }[] }>(
      '/v1/messages?status=lost&limit=0',
    );
    expect(query.status).toBe(400);
    expect(query.body.problems.map((p) => p.field).sort()).toEqual(['limit', 'status']);
    const page = await herald.api<{ items: { id: string }[] }>(
      '/v1/messages?status=sent&channel=webhook&limit=5',
    );
    expect(page.status).toBe(200);
    expect(page.body.items.length).toBeGreaterThan(0);
    const docs = await herald.api<{ openapi: string }>('/docs');
    expect(docs.body.openapi).toBe('3.1.0');
  });

  it('never writes the credentials to the events topic or MongoDB', async () => {
    const secrets = [SECRET_HEADER, SECRET_QUERY];
    const db = heraldDb(mongo, env.mongodbUri);
    for (const name of await db.listCollections().toArray()) {
      const docs = JSON.stringify(await db.collection(name.name).find().toArray());
      for (const secret of secrets) expect(docs).not.toContain(secret);
    }
    const raw = await readWholeTopic(kafka, TOPICS.messageEvents.name);
    for (const secret of secrets) expect(raw.includes(Buffer.from(secret))).toBe(false);
  });

  it('rebuilds the read model from the events topic, identical field for field', async () => {
    // Quiesce: stop everything that writes events, then let the projector finish.
    for (const service of herald.services.filter((s) => s.name !== 'projector')) {
      service.process.kill('SIGTERM');
      await service.exited;
    }
    const db = heraldDb(mongo, env.mongodbUri);
    const snapshot = async () => ({
      messages: await db.collection('messages').find().sort({ _id: 1 }).toArray(),
      events: await db.collection('events').find().sort({ _id: 1 }).toArray(),
    });
    // Caught up once the read model has not changed for longer than the projector holds an
    // event before writing it (HERALD_PROJECTOR_HOLD_MS, 1 s): one unchanged second was not
    // enough, as events it still held were written just after (and so missed by `before`).
    const QUIET_POLLS = 3;
    let previous = JSON.stringify(await snapshot());
    let unchanged = 0;
    const before = await waitFor(
      'the projector to catch up',
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        const current = JSON.stringify(await snapshot());
        unchanged = current === previous ? unchanged + 1 : 0;
        previous = current;
        return unchanged >= QUIET_POLLS ? current : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 0 },
    );
    const projector = herald.service('projector');
    projector.process.kill('SIGTERM');
    await projector.exited;

    const rebuild = runRebuild('projector');
    expect(rebuild.stderr).not.toMatch(/failed/);
    expect(rebuild.status).toBe(0);
    expect(
      firstDifference(JSON.parse(before), JSON.parse(JSON.stringify(await snapshot()))),
    ).toBeNull();
  });
});

/** The first document (and field) that differs, so a failure says where, not just that. */
function firstDifference(
  before: Record<string, { _id: string }[]>,
  after: Record<string, { _id: string }[]>,
): string | null {
  const plain = (value: unknown) => JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  for (const name of Object.keys(before)) {
    const a = before[name]!;
    const b = after[name]!.map(plain);
    if (a.length !== b.length) return `${name}: ${a.length} documents before, ${b.length} after`;
    for (let i = 0; i < a.length; i += 1) {
      const x = a[i] as unknown as Record<string, unknown>;
      const y = b[i]!;
      for (const field of new Set([...Object.keys(x), ...Object.keys(y)])) {
        if (JSON.stringify(x[field]) !== JSON.stringify(y[field])) {
          return `${name} ${String(x._id)}.${field}: ${JSON.stringify(x[field])} before, ${JSON.stringify(y[field])} after`;
        }
      }
    }
  }
  return null;
}

async function readDeadLetters(kafka: Kafka, key: string) {
  const found: { offset: string; reason: string; sourceTopic: string }[] = [];
  await readToEnd(kafka, TOPICS.deadLetter.name, async (messages) => {
    for (const message of messages) {
      if (message.key?.toString() !== key) continue;
      found.push({
        offset: message.headers?.['herald-dlq-source-offset']?.toString() ?? '',
        reason: message.headers?.['herald-dlq-reason']?.toString() ?? '',
        sourceTopic: message.headers?.['herald-dlq-source-topic']?.toString() ?? '',
      });
    }
  });
  return found.sort((a, b) => Number(a.offset) - Number(b.offset));
}
