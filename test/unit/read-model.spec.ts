import type { MessageEvent, MessageSummary } from '@herald/messages';
import {
  InvalidCursorError,
  InvalidQueryError,
  LIST_SORT,
  type MessageDocument,
  applyEvent,
  decodeCursor,
  encodeCursor,
  foldEvents,
  listFilter,
  parseListQuery,
  toApiEvent,
  toApiLog,
  toApiMessage,
  toApiPage,
  toEventDocument,
} from '@herald/read-model';

const T0 = Date.UTC(2025, 0, 2, 3, 4, 5);
const SECOND = 1000;

const SUMMARY: MessageSummary = {
  channel: 'email',
  provider: 'sendgrid',
  providers: [],
  recipient: 'ada@example.com',
  retryPolicy: null,
  requestedAt: T0 - SECOND,
  metadata: { campaign: 'welcome', 'utm.source': 'app' },
};

const LOG = {
  request: {
    method: 'POST',
    url: 'https://api.sendgrid.test/v3/mail/send',
    headers: { authorization: '[redacted]', 'idempotency-key': 'm-1' },
    body: '{"to":"ada@example.com"}',
  },
  response: { status: 202, headers: { 'x-message-id': 'sg-1' }, body: null },
  durationMs: 120,
};

const ERROR_503 = {
  category: 'retryable' as const,
  code: 'http_503',
  message: 'Service Unavailable',
};

/** Builds a timeline with seq 1, 2, 3... and occurredAt one second apart. */
function timeline(...steps: Partial<MessageEvent>[]): MessageEvent[] {
  return steps.map((step, index) => ({
    eventId: `00000000-0000-4000-8000-${String(index + 1).padStart(12, '0')}`,
    messageId: 'm-1',
    tenantId: 't-1',
    seq: index + 1,
    type: 'queued',
    status: 'queued',
    attempt: 0,
    maxAttempts: null,
    occurredAt: T0 + index * SECOND,
    nextAttemptAt: null,
    error: null,
    log: null,
    message: null,
    providerMessageId: null,
    provider: null,
    failover: null,
    ...step,
  }));
}

const queued = { type: 'queued', status: 'queued', message: SUMMARY, maxAttempts: 9 } as const;

const retriedThenSent = timeline(
  queued,
  {
    type: 'delivery_attempted',
    status: 'delivery_attempted',
    attempt: 1,
    error: ERROR_503,
    log: { ...LOG, response: { status: 503, headers: {}, body: 'busy' } },
    nextAttemptAt: T0 + 30 * SECOND,
    provider: 'sendgrid',
  },
  {
    type: 'delivery_attempted',
    status: 'delivery_attempted',
    attempt: 2,
    error: { category: 'network', code: 'ECONNRESET', message: 'socket hang up' },
    log: { ...LOG, response: null },
    nextAttemptAt: T0 + 90 * SECOND,
    provider: 'sendgrid',
  },
  {
    type: 'sent',
    status: 'sent',
    attempt: 3,
    log: LOG,
    providerMessageId: 'sg-1',
    provider: 'sendgrid',
  },
);

const fold = (events: MessageEvent[]): MessageDocument => {
  const doc = foldEvents(events);
  if (!doc) throw new Error('no document');
  return doc;
};

describe('read model: folding timelines', () => {
  it('queued -> delivery_attempted x2 -> sent', () => {
    expect(fold(retriedThenSent)).toEqual({
      _id: 't-1:m-1',
      messageId: 'm-1',
      tenantId: 't-1',
      seq: 4,
      status: 'sent',
      channel: 'email',
      provider: 'sendgrid',
      providers: [],
      recipient: 'ada@example.com',
      retryPolicy: null,
      metadata: [
        { name: 'campaign', value: 'welcome' },
        { name: 'utm.source', value: 'app' },
      ],
      providerMessageId: 'sg-1',
      attempts: 3,
      maxAttempts: 9,
      statusChecks: 0,
      lastError: { category: 'network', code: 'ECONNRESET', message: 'socket hang up' },
      nextAttemptAt: null,
      requestedAt: T0 - SECOND,
      queuedAt: T0,
      firstAttemptAt: T0 + SECOND,
      lastAttemptAt: T0 + 3 * SECOND,
      sentAt: T0 + 3 * SECOND,
      deliveredAt: null,
      undeliveredAt: null,
      bouncedAt: null,
      notSentAt: null,
      canceledAt: null,
      resends: 0,
      createdAt: T0 - SECOND,
      updatedAt: T0 + 3 * SECOND,
      skippedSeqs: 0,
    });
  });

  it('keeps nextAttemptAt while a retry is scheduled', () => {
    const doc = fold(retriedThenSent.slice(0, 3));
    expect(doc.status).toBe('delivery_attempted');
    expect(doc.nextAttemptAt).toBe(T0 + 90 * SECOND);
    expect(doc.attempts).toBe(2);
  });

  it('queued -> undelivered (non-retryable)', () => {
    const error = { category: 'non_retryable' as const, code: 'http_400', message: 'bad address' };
    const doc = fold(
      timeline(queued, { type: 'undelivered', status: 'undelivered', attempt: 1, error, log: LOG }),
    );
    expect(doc).toMatchObject({
      status: 'undelivered',
      attempts: 1,
      lastError: error,
      firstAttemptAt: T0 + SECOND,
      lastAttemptAt: T0 + SECOND,
      undeliveredAt: T0 + SECOND,
      sentAt: null,
      nextAttemptAt: null,
    });
  });

  it('not_sent as the only event', () => {
    const error = { category: 'non_retryable' as const, code: 'unknown_provider', message: 'x' };
    const doc = fold(timeline({ type: 'not_sent', status: 'not_sent', message: SUMMARY, error }));
    expect(doc).toMatchObject({
      status: 'not_sent',
      attempts: 0,
      firstAttemptAt: null,
      queuedAt: null,
      notSentAt: T0,
      lastError: error,
      channel: 'email',
      createdAt: T0 - SECOND,
      updatedAt: T0,
    });
  });

  it('queued -> sent -> status_check_attempted x3 -> delivered', () => {
    const check = { type: 'status_check_attempted', status: 'sent', maxAttempts: 11 } as const;
    const doc = fold(
      timeline(
        queued,
        { type: 'sent', status: 'sent', attempt: 1, maxAttempts: 9, log: LOG },
        { ...check, attempt: 1, log: LOG, nextAttemptAt: T0 + 10 * SECOND },
        { ...check, attempt: 2, error: ERROR_503, nextAttemptAt: T0 + 20 * SECOND },
        { ...check, attempt: 3, log: LOG },
        { type: 'delivered', status: 'delivered', attempt: 3, maxAttempts: 11 },
      ),
    );
    expect(doc).toMatchObject({
      status: 'delivered',
      attempts: 1,
      // The send limit, not the status checks' limit the check events carry.
      maxAttempts: 9,
      statusChecks: 3,
      sentAt: T0 + SECOND,
      firstAttemptAt: T0 + SECOND,
      lastAttemptAt: T0 + SECOND,
      deliveredAt: T0 + 5 * SECOND,
      nextAttemptAt: null,
      lastError: ERROR_503,
      updatedAt: T0 + 5 * SECOND,
    });
  });

  it('a synchronous delivered counts as the send and sets sentAt', () => {
    const doc = fold(
      timeline(queued, { type: 'delivered', status: 'delivered', attempt: 1, log: LOG }),
    );
    expect(doc).toMatchObject({ attempts: 1, sentAt: T0 + SECOND, deliveredAt: T0 + SECOND });
  });

  it('bounced after sent', () => {
    const doc = fold(
      timeline(
        queued,
        { type: 'sent', status: 'sent', attempt: 1, log: LOG },
        {
          type: 'bounced',
          status: 'bounced',
          attempt: 1,
          error: { category: 'non_retryable', code: 'bounce', message: 'mailbox full' },
        },
      ),
    );
    expect(doc).toMatchObject({ status: 'bounced', attempts: 1, bouncedAt: T0 + 2 * SECOND });
  });

  it('reads no clock: the same events always give the same document', () => {
    expect(fold(retriedThenSent)).toEqual(fold(retriedThenSent));
  });
});

describe('read model: idempotence and ordering', () => {
  it('replaying the whole timeline twice gives the same document', () => {
    const once = fold(retriedThenSent);
    expect(foldEvents(retriedThenSent, once)).toEqual(once);
    expect(fold([...retriedThenSent, ...retriedThenSent])).toEqual(once);
  });

  it('a duplicate or older seq is a no-op returning the same document', () => {
    const doc = fold(retriedThenSent);
    for (const event of retriedThenSent) {
      const result = applyEvent(doc, event);
      expect(result.applied).toBe(false);
      expect(result.doc).toBe(doc);
    }
  });

  it('ignores an old event that arrives after a newer one', () => {
    const [first, second, third, fourth] = retriedThenSent;
    if (!first || !second || !third || !fourth) throw new Error('timeline too short');
    const inOrder = fold([first, second, third, fourth]);
    expect(fold([first, second, fourth, third])).toMatchObject({
      seq: 4,
      status: 'sent',
      sentAt: inOrder.sentAt,
    });
  });

  it('applies across a gap and records it', () => {
    const [first, , , fourth] = retriedThenSent;
    if (!first || !fourth) throw new Error('timeline too short');
    const start = applyEvent(null, first).doc;
    const result = applyEvent(start, fourth);
    expect(result).toMatchObject({ applied: true, gap: 2, legal: true });
    expect(result.doc).toMatchObject({ seq: 4, status: 'sent', skippedSeqs: 2 });
  });

  it('flags an illegal transition but still applies it', () => {
    const events = timeline(queued, { type: 'bounced', status: 'bounced' });
    const start = applyEvent(null, events[0]!).doc;
    const result = applyEvent(start, events[1]!);
    expect(result).toMatchObject({ applied: true, legal: false });
    expect(result.doc.status).toBe('bounced');
  });

  it('flags an event whose status disagrees with the machine', () => {
    const [event] = timeline({ ...queued, status: 'sent' });
    expect(applyEvent(null, event!).legal).toBe(false);
  });

  it('does not change the document it is given', () => {
    const doc = fold(retriedThenSent.slice(0, 2));
    const copy = structuredClone(doc);
    applyEvent(doc, retriedThenSent[2]!);
    expect(doc).toEqual(copy);
  });

  it('builds a document of nulls from a first event without a summary', () => {
    const [event] = timeline({ type: 'queued', status: 'queued' });
    const { doc } = applyEvent(null, event!);
    expect(doc).toMatchObject({
      channel: null,
      provider: null,
      recipient: null,
      metadata: null,
      requestedAt: null,
      createdAt: T0,
    });
    expect(toApiMessage(doc).metadata).toEqual({});
  });
});

describe('read model: stored events', () => {
  it('ids an event by message and seq and stores maps as pairs', () => {
    const doc = toEventDocument(retriedThenSent[1]!);
    expect(doc._id).toBe('t-1:m-1:2');
    expect(doc.log?.request.headers).toEqual([
      { name: 'authorization', value: '[redacted]' },
      { name: 'idempotency-key', value: 'm-1' },
    ]);
    expect(toEventDocument(retriedThenSent[0]!).log).toBeNull();
  });

  it('keeps keys and text FerretDB v1 would refuse out of stored documents', () => {
    const [event] = timeline({
      ...queued,
      message: { ...SUMMARY, metadata: { $where: 'a\u0000b' } },
    });
    const keys: string[] = [];
    const walk = (value: unknown): void => {
      if (value === null || typeof value !== 'object') return;
      for (const [key, inner] of Object.entries(value)) {
        keys.push(key);
        walk(inner);
      }
    };
    const stored = toEventDocument(event!);
    walk(stored);
    walk(applyEvent(null, event!).doc);
    expect(keys.filter((key) => key.startsWith('$') || key.includes('.'))).toEqual([]);
    expect(JSON.stringify(stored)).not.toContain('\\u0000');
    expect(toApiMessage(applyEvent(null, event!).doc).metadata).toEqual({ $where: 'a\uFFFDb' });
  });
});

describe('read model: API shapes', () => {
  it('a message', () => {
    expect(toApiMessage(fold(retriedThenSent))).toEqual({
      id: 'm-1',
      tenantId: 't-1',
      status: 'sent',
      channel: 'email',
      provider: 'sendgrid',
      providers: [],
      recipient: 'ada@example.com',
      retryPolicy: null,
      metadata: { campaign: 'welcome', 'utm.source': 'app' },
      providerMessageId: 'sg-1',
      attempts: 3,
      maxAttempts: 9,
      statusChecks: 0,
      lastError: { category: 'network', code: 'ECONNRESET', message: 'socket hang up' },
      nextAttemptAt: null,
      requestedAt: '2025-01-02T03:04:04.000Z',
      queuedAt: '2025-01-02T03:04:05.000Z',
      firstAttemptAt: '2025-01-02T03:04:06.000Z',
      lastAttemptAt: '2025-01-02T03:04:08.000Z',
      sentAt: '2025-01-02T03:04:08.000Z',
      deliveredAt: null,
      undeliveredAt: null,
      bouncedAt: null,
      notSentAt: null,
      canceledAt: null,
      resends: 0,
      createdAt: '2025-01-02T03:04:04.000Z',
      updatedAt: '2025-01-02T03:04:08.000Z',
      actions: { cancel: false, resend: false },
    });
  });

  it('an event', () => {
    expect(toApiEvent(toEventDocument(retriedThenSent[1]!))).toEqual({
      id: '00000000-0000-4000-8000-000000000002',
      messageId: 'm-1',
      seq: 2,
      type: 'delivery_attempted',
      status: 'delivery_attempted',
      attempt: 1,
      maxAttempts: null,
      occurredAt: '2025-01-02T03:04:06.000Z',
      nextAttemptAt: '2025-01-02T03:04:35.000Z',
      providerMessageId: null,
      provider: 'sendgrid',
      failover: null,
      error: ERROR_503,
    });
  });

  it('a log, and none for an event without a provider call', () => {
    expect(toApiLog(toEventDocument(retriedThenSent[2]!))).toEqual({
      id: '00000000-0000-4000-8000-000000000003',
      messageId: 'm-1',
      seq: 3,
      type: 'delivery_attempted',
      status: 'delivery_attempted',
      attempt: 2,
      occurredAt: '2025-01-02T03:04:07.000Z',
      provider: 'sendgrid',
      request: LOG.request,
      response: null,
      durationMs: 120,
      error: { category: 'network', code: 'ECONNRESET', message: 'socket hang up' },
    });
    expect(toApiLog(toEventDocument(retriedThenSent[0]!))).toBeNull();
  });

  it('has no storage fields', () => {
    const json = JSON.stringify([
      toApiMessage(fold(retriedThenSent)),
      toApiEvent(toEventDocument(retriedThenSent[3]!)),
      toApiLog(toEventDocument(retriedThenSent[3]!)),
    ]);
    for (const key of ['_id', 'skippedSeqs', '"name"']) expect(json).not.toContain(key);
  });

  it('a page carries a cursor only when more documents exist', () => {
    const docs = ['a', 'b', 'c'].map((id, i) => ({
      ...fold(retriedThenSent),
      _id: `t-1:${id}`,
      messageId: id,
      createdAt: 30 - i,
    }));
    const page = toApiPage(docs, 2);
    expect(page.items.map((m) => m.id)).toEqual(['a', 'b']);
    // The cursor names the document (tenant and id), so equal createdAt ties break the same way.
    expect(decodeCursor(page.nextCursor!)).toEqual({ createdAt: 29, id: 't-1:b' });
    expect(toApiPage(docs, 3).nextCursor).toBeNull();
  });
});

describe('read model: listing', () => {
  it('round-trips a cursor', () => {
    const cursor = { createdAt: T0, id: 'msg:ü/1' };
    const text = encodeCursor(cursor);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(text)).toEqual(cursor);
  });

  it.each([
    '',
    'not a cursor!',
    Buffer.from('{"createdAt":1}').toString('base64url'),
    Buffer.from('[1.5,"x"]').toString('base64url'),
    Buffer.from('[1,""]').toString('base64url'),
    Buffer.from('[1, "x"]').toString('base64url'),
    'x'.repeat(5000),
  ])('refuses cursor %p', (text) => {
    expect(() => decodeCursor(text)).toThrow(InvalidCursorError);
  });

  it('filters by tenant and equality and pages strictly after the cursor, newest first', () => {
    expect(LIST_SORT).toEqual({ createdAt: -1, _id: -1 });
    expect(listFilter({ tenantId: 'acme' })).toEqual({ tenantId: 'acme' });
    expect(
      listFilter({
        tenantId: 'acme',
        status: 'sent',
        channel: 'sms',
        recipient: '+15550100',
        provider: 'twilio',
        cursor: { createdAt: T0, id: 'm-9' },
      }),
    ).toEqual({
      tenantId: 'acme',
      status: 'sent',
      channel: 'sms',
      recipient: '+15550100',
      provider: 'twilio',
      $or: [{ createdAt: { $lt: T0 } }, { createdAt: T0, _id: { $lt: 'm-9' } }],
    });
  });

  it('parses a valid query with defaults', () => {
    expect(parseListQuery({})).toEqual({ limit: 20 });
    const cursor = encodeCursor({ createdAt: T0, id: 'm-9' });
    expect(
      parseListQuery({
        status: 'bounced',
        channel: 'in_app',
        recipient: 'u-1',
        provider: 'knock',
        limit: '100',
        cursor,
        unrelated: 'ignored',
        status_: '',
      }),
    ).toEqual({
      status: 'bounced',
      channel: 'in_app',
      recipient: 'u-1',
      provider: 'knock',
      limit: 100,
      cursor: { createdAt: T0, id: 'm-9' },
    });
    expect(parseListQuery({ status: '', limit: 5 })).toEqual({ limit: 5 });
  });

  const issuesOf = (query: Record<string, unknown>) => {
    try {
      parseListQuery(query);
    } catch (error) {
      if (error instanceof InvalidQueryError) return error.issues;
      throw error;
    }
    throw new Error('expected InvalidQueryError');
  };

  it.each([
    [{ status: 'sending' }, 'status'],
    [{ channel: 'fax' }, 'channel'],
    [{ limit: '0' }, 'limit'],
    [{ limit: '101' }, 'limit'],
    [{ limit: '2.5' }, 'limit'],
    [{ limit: 'ten' }, 'limit'],
    [{ limit: 0 }, 'limit'],
    [{ cursor: 'garbage!' }, 'cursor'],
    [{ recipient: ['a', 'b'] }, 'recipient'],
    [{ provider: { $ne: 'x' } }, 'provider'],
  ])('rejects %p naming %s', (query, field) => {
    const issues = issuesOf(query);
    expect(issues).toHaveLength(1);
    expect(issues[0]?.field).toBe(field);
    expect(issues[0]?.problem).toEqual(expect.any(String));
  });

  it('reports every bad field at once', () => {
    expect(issuesOf({ status: 'x', channel: 'y', limit: '-1' }).map((i) => i.field)).toEqual([
      'status',
      'channel',
      'limit',
    ]);
    expect(issuesOf({ status: 'x' })[0]?.problem).toContain('delivery_attempted');
  });
});
