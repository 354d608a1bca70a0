import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import type { MessageRequested } from '@herald/messages';
import type { AvroCodec } from '@herald/schema-registry';
import { TOPICS } from '@herald/topics';
import { bearer } from '@tools/harness';
import { Herald } from '../support/herald';
import { connectTestClients, deadLettersKeyed, type TestClients } from '../support/kafka-clients';

const run = randomUUID().slice(0, 8);
const id = (name: string) => `${name}-${run}`;

/**
 * Hostile input over HTTP and Kafka (issue 13's first findings): every one is refused with a
 * field-named error or ends its message, and the APIs keep answering afterwards.
 */
describe('hostile input against the real servers', () => {
  let herald: Herald;
  let kafka: Kafka;
  let producer: Producer;
  let codec: AvroCodec;
  let clients: TestClients | undefined;
  let ingest: string;

  beforeAll(async () => {
    herald = await Herald.start({});
    ingest = `http://127.0.0.1:${herald.service('ingest').port}`;
    clients = await connectTestClients('herald-test-hostile', [TOPICS.messagesRequested]);
    ({ kafka, producer, codec } = clients);
  });

  afterAll(async () => {
    await clients?.close();
    await herald?.stop();
  });

  const webhook = (messageId: string, extra: Record<string, unknown> = {}) => ({
    messageId,
    channel: 'webhook',
    provider: 'webhook',
    recipient: herald.hook('ok', messageId),
    content: { body: 'hi' },
    ...extra,
  });

  async function raw(body: string, headers: Record<string, string> = {}) {
    const response = await fetch(`${ingest}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(herald.key.key), ...headers },
      body,
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it('refuses a requestedAt no date can hold (400 naming it), and the list still answers', async () => {
    const answer = await herald.post(webhook(id('far-future'), { requestedAt: 8.7e15 }));
    expect(answer.status).toBe(400);
    expect(answer.body.problems).toEqual([expect.objectContaining({ field: 'requestedAt' })]);
    expect((await herald.api('/v1/messages?limit=100')).status).toBe(200);
  });

  it('refuses ids with control characters (400 naming the field)', async () => {
    for (const messageId of ['a\u0000b', 'line\nbreak', 'x'.repeat(256)]) {
      const answer = await herald.post(webhook(messageId));
      expect(answer.status).toBe(400);
      expect(answer.body.problems).toEqual([expect.objectContaining({ field: 'messageId' })]);
    }
  });

  it('never answers 500 to bracketed or repeated query parameters', async () => {
    // Express 5 parses the query string flat: `status[$ne]` is a parameter of its own, unknown
    // to the list and so ignored, never an operator object that reaches MongoDB.
    const bracketed = await herald.api<{ items: unknown[] }>('/v1/messages?status[$ne]=x&limit=1');
    expect(bracketed.status).toBe(200);
    const repeated = await herald.api<{ problems: { field: string }[] }>(
      '/v1/messages?status=sent&status=queued',
    );
    expect(repeated.status).toBe(400);
    expect(repeated.body.problems.map((p) => p.field)).toEqual(['status']);
  });

  it("answers malformed JSON, a body over 256 KiB and an unknown route in Herald's shape", async () => {
    const malformed = await raw('{"channel": ');
    expect(malformed).toEqual({
      status: 400,
      body: { error: 'invalid_json', message: expect.any(String) },
    });
    const tooLarge = await raw(
      JSON.stringify(webhook(id('big'), { content: { body: 'x'.repeat(300 * 1024) } })),
    );
    expect(tooLarge).toEqual({
      status: 413,
      body: { error: 'payload_too_large', message: expect.any(String) },
    });
    // Over the framework's old 100 kB default, under Herald's 256 KiB: accepted.
    const large = await raw(
      JSON.stringify(webhook(id('large'), { content: { body: 'x'.repeat(150 * 1024) } })),
    );
    expect(large.status).toBe(202);
    const unknown = await fetch(`${ingest}/v1/nothing-here`, { headers: bearer(herald.key.key) });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: 'not_found', message: expect.any(String) });
  });

  it('ends a Kafka record out of bounds not_sent, dead-letters one with an unusable id, and delivers the next', async () => {
    const topic = TOPICS.messagesRequested.name;
    const base = (messageId: string): MessageRequested => ({
      messageId,
      tenantId: herald.key.tenantId,
      channel: 'webhook',
      provider: 'webhook',
      providers: [],
      recipient: herald.hook('ok', messageId),
      content: { body: 'hi' },
      retryPolicy: null,
      metadata: {},
      requestedAt: Date.now(),
    });
    const late = id('kafka-far-future');
    const nul = `nul\u0000${run}`;
    const good = id('kafka-after');
    for (const request of [{ ...base(late), requestedAt: 8.7e15 }, base(nul), base(good)]) {
      await producer.send({
        topic,
        messages: [{ key: request.messageId, value: await codec.encode(topic, request) }],
      });
    }
    expect((await herald.final(good)).message.status).toBe('sent');
    const refused = await herald.final(late);
    expect(refused.message.status).toBe('not_sent');
    expect(refused.message.lastError).toMatchObject({ code: 'invalid_request' });
    expect(refused.message.requestedAt).not.toBeNull();
    expect((await herald.api('/v1/messages?limit=100')).status).toBe(200);

    const reasons = (await deadLettersKeyed(kafka, nul)).map(
      (headers) => headers['herald-dlq-reason'],
    );
    expect(reasons).toEqual([expect.stringMatching(/^messageId: must be printable/)]);
  });
  it('ends a Kafka request as large as the broker takes not_sent, where its task would not fit, and goes on', async () => {
    // The largest request this broker accepts: its delivery task carries the same content plus
    // the attempt's fields, so before issue 13 writing the task failed with MESSAGE_TOO_LARGE,
    // and ingest stopped on that partition for good, again after every restart.
    const topic = TOPICS.messagesRequested.name;
    const huge = id('kafka-huge');
    const request = (messageId: string, body: string): MessageRequested => ({
      messageId,
      tenantId: herald.key.tenantId,
      channel: 'webhook',
      provider: 'webhook',
      providers: [],
      recipient: herald.hook('ok', messageId),
      content: { body },
      retryPolicy: null,
      metadata: {},
      requestedAt: Date.now(),
    });
    let accepted = 0;
    for (let size = 1024 * 1024; accepted === 0 && size > 1_000_000; size -= 64) {
      const value = await codec.encode(topic, request(huge, 'x'.repeat(size)));
      accepted = await producer
        .send({ topic, messages: [{ key: huge, partition: 0, value }] })
        .then(() => size)
        .catch(() => 0);
    }
    expect(accepted).toBeGreaterThan(1_000_000);
    const after = id('kafka-after-huge');
    await producer.send({
      topic,
      messages: [
        { key: after, partition: 0, value: await codec.encode(topic, request(after, 'hi')) },
      ],
    });
    expect((await herald.final(after)).message.status).toBe('sent');
    const refused = await herald.final(huge);
    expect(refused.message.status).toBe('not_sent');
    expect(refused.message.lastError?.message).toMatch(
      /^content: content and metadata together must be at most 262144 bytes/,
    );
  });
  it('dead-letters a record whose map claims more entries than it has bytes, at once, and goes on', async () => {
    // Found by the fuzz: avsc reads a claimed 2^40 entries one by one past the end of the
    // bytes, which kept ingest's event loop (its HTTP and health checks too) busy for hours.
    const topic = TOPICS.messagesRequested.name;
    const hostile = id('kafka-map-count');
    const request: MessageRequested = {
      messageId: hostile,
      tenantId: herald.key.tenantId,
      channel: 'webhook',
      provider: 'webhook',
      providers: [],
      recipient: herald.hook('ok', hostile),
      content: {},
      retryPolicy: null,
      metadata: {},
      requestedAt: Date.now(),
    };
    const whole = await codec.encode(topic, request);
    const recipientEnd = whole.indexOf(Buffer.from(request.recipient)) + request.recipient.length;
    // zigzag(2^40) as a varint: 2^41 in 7-bit groups, low first.
    const count: number[] = [];
    for (let value = 2 ** 41; value > 0; value = Math.floor(value / 128)) {
      count.push((value % 128) | (value >= 128 ? 0x80 : 0));
    }
    const value = Buffer.concat([whole.subarray(0, recipientEnd), Buffer.from(count)]);
    const after = id('kafka-after-map-count');
    await producer.send({
      topic,
      messages: [
        { key: hostile, partition: 1, value },
        {
          key: after,
          partition: 1,
          value: await codec.encode(topic, {
            ...request,
            messageId: after,
            recipient: herald.hook('ok', after),
            content: { body: 'hi' },
          }),
        },
      ],
    });
    expect((await herald.final(after)).message.status).toBe('sent');
    const reasons = (await deadLettersKeyed(kafka, hostile)).map(
      (headers) => headers['herald-dlq-reason'],
    );
    expect(reasons).toEqual([expect.stringMatching(/a block claims 1099511627776 items/)]);
  });
});
