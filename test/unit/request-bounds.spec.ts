import { randomUUID } from 'node:crypto';
import type { MessageRequested } from '@herald/messages';
import {
  idProblem,
  ingestRequest,
  parseMessageRequest,
  REQUEST_LIMITS,
  requestBoundsProblems,
  utf8Length,
} from '@herald/decisions';
import { ProviderRegistry, WebhookProvider } from '@herald/providers';
import { PolicyRegistry } from '@herald/retry-policy';
import { iso, toApiMessage, foldEvents, type MessageDocument } from '@herald/read-model';

const now = 1_800_000_000_000;
const DAY = 24 * 60 * 60 * 1000;

const request = (overrides: Partial<MessageRequested> = {}): MessageRequested => ({
  messageId: 'm-1',
  tenantId: 't-1',
  channel: 'webhook',
  provider: 'webhook',
  providers: [],
  recipient: 'https://hooks.example.test/x',
  content: { body: 'hi' },
  retryPolicy: null,
  metadata: {},
  requestedAt: now,
  ...overrides,
});

const fields = (problems: { field: string }[]) => problems.map((p) => p.field);

/** Ingest's decision for a Kafka request, with the webhook provider and the built-in policies. */
const ingest = (message: MessageRequested) =>
  ingestRequest(message, {
    providers: new ProviderRegistry([
      new WebhookProvider({ timeoutMs: 1000, headers: {}, headerHosts: [] }),
    ]),
    policies: PolicyRegistry.withBuiltIns(),
    now,
    newId: randomUUID,
  });

describe('request bounds (HTTP and Kafka alike)', () => {
  it('accepts an ordinary request', () => {
    expect(requestBoundsProblems(request(), now)).toEqual([]);
  });

  it.each([
    ['NUL', 'a\u0000b'],
    ['a newline', 'a\nb'],
    ['DEL', 'a\u007fb'],
    ['a C1 control', 'a\u0085b'],
    ['a lone surrogate', 'a\ud800b'],
    ['empty', ''],
    ['256 characters', 'x'.repeat(256)],
  ])('refuses an id with %s, in messageId and tenantId', (_what, id) => {
    expect(idProblem(id)).not.toBeNull();
    expect(fields(requestBoundsProblems(request({ messageId: id, tenantId: id }), now))).toEqual([
      'messageId',
      'tenantId',
    ]);
  });

  it('accepts printable ids up to 255 characters, emoji (surrogate pairs) included', () => {
    for (const id of ['x'.repeat(255), 'user-😀-42', 'ü:ß/ id']) expect(idProblem(id)).toBeNull();
  });

  it.each([
    ['8.7e15', 8.7e15],
    ['31 days ago', now - 31 * DAY],
    ['2 days ahead', now + 2 * DAY],
    ['not an integer', now + 0.5],
    ['NaN', NaN],
  ])('refuses requestedAt %s', (_what, requestedAt) => {
    expect(fields(requestBoundsProblems(request({ requestedAt }), now))).toEqual(['requestedAt']);
  });

  it('accepts requestedAt at the edges of the window', () => {
    for (const requestedAt of [now - 30 * DAY, now + DAY]) {
      expect(requestBoundsProblems(request({ requestedAt }), now)).toEqual([]);
    }
  });

  it('refuses more than 64 keys, or a key over 255 characters, in content and metadata', () => {
    const many = Object.fromEntries(
      Array.from({ length: REQUEST_LIMITS.mapKeys + 1 }, (_, i) => [`k${i}`, 'v']),
    );
    expect(fields(requestBoundsProblems(request({ content: many, metadata: many }), now))).toEqual([
      'content',
      'metadata',
    ]);
    const longKey = { ['k'.repeat(256)]: 'v' };
    expect(fields(requestBoundsProblems(request({ metadata: longKey }), now))).toEqual([
      'metadata',
    ]);
  });

  it('refuses content and metadata over 256 KiB together, counted in UTF-8 bytes', () => {
    const limit = REQUEST_LIMITS.mapBytes;
    // 'body' (4 bytes) + the value; 'é' is 2 bytes, an emoji 4.
    const fits = request({ content: { body: 'x'.repeat(limit - 4) } });
    expect(requestBoundsProblems(fits, now)).toEqual([]);
    const over = request({ content: { body: 'x'.repeat(limit - 6) }, metadata: { é: 'v' } });
    expect(requestBoundsProblems(over, now)).toEqual([
      {
        field: 'content',
        problem: `content and metadata together must be at most ${limit} bytes (UTF-8), not ${limit + 1}`,
      },
    ]);
    expect(utf8Length('aé\u{1F600}')).toBe(7);
    expect(utf8Length('\ud800x')).toBe(4);
  });

  it('refuses a provider or retry policy over 100 characters and a recipient over 2048, as the POST does', () => {
    const long = request({
      provider: 'p'.repeat(101),
      recipient: `https://hooks.example.test/?q=${'a'.repeat(2048)}`,
      retryPolicy: 'r'.repeat(101),
    });
    expect(fields(requestBoundsProblems(long, now))).toEqual([
      'provider',
      'recipient',
      'retryPolicy',
    ]);
    const atTheLimits = request({
      provider: 'p'.repeat(100),
      recipient: `https://hooks.example.test/?q=`.padEnd(2048, 'a'),
      retryPolicy: 'r'.repeat(100),
    });
    expect(requestBoundsProblems(atTheLimits, now)).toEqual([]);
  });

  it('ends a Kafka request naming a huge provider not_sent without quoting the name back', () => {
    // An unknown provider's answer quotes its name: with the name in the event's summary too,
    // a 600 KB name made an event over the broker's 1 MiB limit, which stopped ingest.
    const decision = ingest(request({ provider: 'p'.repeat(600_000) }));
    expect(decision.kind).toBe('not_sent');
    expect(decision.event.error).toEqual({
      category: 'non_retryable',
      code: 'invalid_request',
      message: 'provider: must be at most 100 characters',
    });
  });

  it("keeps a refused request's summary within the bounds, so its event fits in Kafka", () => {
    // Found by the fuzz: redaction turned a 900 KB recipient of `key=a&…` into a 2.2 MB event.
    const recipient = `https://hooks.example.test/x?${'key=a&'.repeat(150_000)}`;
    const decision = ingest(
      request({ recipient, metadata: { big: 'm'.repeat(REQUEST_LIMITS.mapBytes) } }),
    );
    expect(decision.kind).toBe('not_sent');
    // Clipped to 2048 characters before redaction, which at most quadruples `key=a`.
    expect(decision.event.message!.recipient.length).toBeLessThanOrEqual(4 * 2048);
    expect(decision.event.message!.metadata).toEqual({});
  });

  it('refuses out-of-bounds requests at the POST, naming the field', () => {
    const parsed = parseMessageRequest(
      {
        messageId: 'a\u0000b',
        channel: 'webhook',
        provider: 'webhook',
        recipient: 'https://hooks.example.test/x',
        content: { body: 'hi' },
        requestedAt: 8.7e15,
      },
      now,
      randomUUID,
    );
    expect('problems' in parsed && fields(parsed.problems)).toEqual(['messageId', 'requestedAt']);
  });

  it('ends a Kafka request with a requestedAt out of bounds not_sent, with a storable time', () => {
    const decision = ingest(request({ requestedAt: 8.7e15 }));
    expect(decision.kind).toBe('not_sent');
    expect(decision.event.error).toMatchObject({ code: 'invalid_request' });
    expect(decision.event.error?.message).toMatch(/^requestedAt: /);
    expect(decision.event.message?.requestedAt).toBe(now);
    const doc = foldEvents([decision.event]) as MessageDocument;
    expect(toApiMessage(doc).createdAt).toBe(new Date(now).toISOString());
  });
});

describe('formatting stored times', () => {
  it('never throws: a time no Date can hold reads as null', () => {
    expect(iso(now)).toBe(new Date(now).toISOString());
    for (const ms of [8.7e15, -8.7e15, NaN, Infinity, null]) expect(iso(ms)).toBeNull();
  });

  it('serves a document that holds such a time (written before the bounds existed)', () => {
    const decision = ingest(request());
    const doc = { ...(foldEvents([decision.event]) as MessageDocument), createdAt: 8.7e15 };
    expect(() => toApiMessage(doc)).not.toThrow();
    expect(toApiMessage(doc).createdAt).toBeNull();
  });
});
