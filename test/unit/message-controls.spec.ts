import {
  afterAttempt,
  CANCEL_CLAIM_MARGIN_MS,
  cancelAfterAttempt,
  checkTask,
  decideCancel,
  decideResend,
  ingestRequest,
  parseMessageRequest,
  REQUEST_LIMITS,
  requestBoundsProblems,
  type ControlledMessage,
  type DeliveryTask,
  type MessageControl,
  type ProviderCatalog,
  type SendResult,
} from '@herald/decisions';
import { canFollow, isTerminal, statusAfter } from '@herald/delivery-status';
import {
  DELIVERY_STATUSES,
  type DeliveryStatus,
  type MessageEvent,
  type MessageRequested,
} from '@herald/messages';
import {
  applyEvent,
  messageActions,
  toApiEvent,
  toApiLog,
  toApiMessage,
  toEventDocument,
  type MessageDocument,
} from '@herald/read-model';
import {
  BUILT_IN_POLICIES,
  DEFAULT_FAILOVER_AFTER_MS,
  failoverAfterMs,
  parsePolicyFile,
  PolicyFileError,
  PolicyRegistry,
  type RetryPolicy,
} from '@herald/retry-policy';

// Cancel, resend and provider failover (libs/domain/decisions/src/controls.ts and attempt.ts):
// every decision is pure, so each test injects its clock (`now`) and its event ids (`ids()`).

const now = 1_800_000_000_000;
const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const policies = PolicyRegistry.withBuiltIns();

/** Event ids e-1, e-2, … in the order a decision asks for them. */
const ids = (prefix = 'e') => {
  let next = 0;
  return () => `${prefix}-${++next}`;
};

const message = (overrides: Partial<ControlledMessage> = {}): ControlledMessage => ({
  messageId: 'm-1',
  tenantId: 't-1',
  status: 'delivery_attempted',
  seq: 3,
  nextAttemptAt: now + MINUTE,
  attempts: 2,
  ...overrides,
});

const request = (overrides: Partial<MessageRequested> = {}): MessageRequested => ({
  messageId: 'm-1',
  tenantId: 't-1',
  channel: 'email',
  provider: 'sendgrid',
  providers: ['sendgrid', 'smtp'],
  recipient: 'ada@example.com',
  content: { subject: 'hi', text: 'hello' },
  retryPolicy: null,
  metadata: { k: 'v' },
  requestedAt: now - 10 * MINUTE,
  ...overrides,
});

/** A first attempt on sendgrid, with smtp to fall back on, under the knock policy. */
const task = (overrides: Partial<DeliveryTask> = {}): DeliveryTask => ({
  messageId: 'm-1',
  tenantId: 't-1',
  channel: 'email',
  provider: 'sendgrid',
  providers: ['sendgrid', 'smtp'],
  providerFirstAttempt: 1,
  providerFirstAttemptAt: null,
  recipient: 'ada@example.com',
  content: { subject: 'hi', text: 'hello' },
  metadata: {},
  retryPolicy: 'knock',
  requestedAt: now - MINUTE,
  attempt: 1,
  firstAttemptAt: null,
  nextSeq: 2,
  dueAt: now,
  ...overrides,
});

const log = {
  request: {
    method: 'POST',
    url: 'https://api.sendgrid.test/v3/mail/send',
    headers: {},
    body: null,
  },
  response: { status: 503, headers: {}, body: null },
  durationMs: 3,
};

const failed = (category: 'retryable' | 'non_retryable', code = 'http_503'): SendResult => ({
  ok: false,
  error: { category, code, message: 'x' },
  log,
});

const sent: SendResult = { ok: true, status: 'sent', providerMessageId: 'id-1', log };

/** The sender's decision deps: knock, no time scale, jitter pinned at its maximum. */
const attemptDeps = (overrides: Partial<Parameters<typeof afterAttempt>[2]> = {}) => ({
  policy: BUILT_IN_POLICIES.knock as RetryPolicy,
  startedAt: now,
  now,
  timeScale: 1,
  newId: ids(),
  checksStatus: false,
  random: () => 1,
  ...overrides,
});

/** Knock: 9 attempts (8 retries), the first retry 7 s after the first attempt at jitter 1. */
const KNOCK_ATTEMPTS = 9;

describe('decideCancel', () => {
  it.each(['sent', 'delivered', 'undelivered', 'bounced', 'not_sent'] as DeliveryStatus[])(
    'is too_late for a message %s',
    (status) => {
      // given a message that was sent or ended
      const decision = decideCancel(message({ status, nextAttemptAt: null }), {
        now,
        newId: ids(),
      });
      // then nothing is left to cancel
      expect(decision).toEqual({ kind: 'too_late', status });
    },
  );

  it('is already_canceled for a canceled message', () => {
    const decision = decideCancel(message({ status: 'canceled', nextAttemptAt: null }), {
      now,
      newId: ids(),
    });
    expect(decision).toEqual({ kind: 'already_canceled' });
  });

  it('claims the next seq when the retry waits in a delay tier, beyond the margin', () => {
    // given a retry due later than the claim margin from now
    const waiting = message({
      seq: 3,
      attempts: 2,
      nextAttemptAt: now + CANCEL_CLAIM_MARGIN_MS + 1,
    });
    // when it is canceled
    const decision = decideCancel(waiting, { now, newId: ids() });
    // then the API writes the canceled event itself, at seq + 1
    expect(decision).toEqual({
      kind: 'claim',
      event: {
        eventId: 'e-1',
        messageId: 'm-1',
        tenantId: 't-1',
        seq: 4,
        type: 'canceled',
        status: 'canceled',
        attempt: 2,
        maxAttempts: null,
        occurredAt: now,
        nextAttemptAt: null,
        error: null,
        log: null,
        message: null,
        providerMessageId: null,
        provider: null,
        failover: null,
      },
    });
  });

  it.each([
    ['queued', message({ status: 'queued', seq: 1, attempts: 0, nextAttemptAt: null })],
    ['a retry due exactly at the margin', message({ nextAttemptAt: now + CANCEL_CLAIM_MARGIN_MS })],
    ['a retry due soon', message({ nextAttemptAt: now + 500 })],
    ['a retry already due', message({ nextAttemptAt: now - SECOND })],
    ['an attempt with no retry known', message({ nextAttemptAt: null })],
  ])('asks the task holder (request) for %s', (_what, controlled) => {
    expect(decideCancel(controlled, { now, newId: ids() })).toEqual({ kind: 'request' });
  });
});

describe('decideResend', () => {
  const resendDeps = () => ({ now, newId: ids(), policies });

  it.each(['queued', 'delivery_attempted', 'sent', 'delivered', 'not_sent'] as DeliveryStatus[])(
    'refuses to resend a message %s',
    (status) => {
      expect(decideResend(message({ status }), request(), resendDeps())).toEqual({
        kind: 'not_resendable',
        status,
      });
    },
  );

  it.each(['undelivered', 'bounced', 'canceled'] as DeliveryStatus[])(
    'queues a message %s again for a fresh run on the first provider of the chain',
    (status) => {
      // given a message that ended after 4 attempts at seq 6 (the last on smtp, the fallback)
      const ended = message({ status, seq: 6, attempts: 4, nextAttemptAt: null });
      // when it is resent
      const decision = decideResend(ended, request(), resendDeps());
      // then a resend_requested at seq 7 queues it, and the run's first task follows at seq 8
      expect(decision.kind).toBe('resend');
      if (decision.kind !== 'resend') return;
      expect(decision.event).toEqual({
        eventId: 'e-1',
        messageId: 'm-1',
        tenantId: 't-1',
        seq: 7,
        type: 'resend_requested',
        status: 'queued',
        attempt: 4,
        maxAttempts: 4 + KNOCK_ATTEMPTS,
        occurredAt: now,
        nextAttemptAt: null,
        error: null,
        log: null,
        message: null,
        providerMessageId: null,
        provider: null,
        failover: null,
      });
      expect(decision.task).toEqual({
        messageId: 'm-1',
        tenantId: 't-1',
        channel: 'email',
        provider: 'sendgrid',
        providers: ['sendgrid', 'smtp'],
        providerFirstAttempt: 5,
        providerFirstAttemptAt: null,
        // The original request's content and recipient: what is sent again.
        recipient: 'ada@example.com',
        content: { subject: 'hi', text: 'hello' },
        metadata: { k: 'v' },
        retryPolicy: 'knock',
        requestedAt: now - 10 * MINUTE,
        attempt: 5,
        firstAttemptAt: null,
        nextSeq: 8,
        dueAt: now,
      });
      expect(canFollow(status, decision.event.type)).toBe(true);
    },
  );

  it("takes a single-provider request's provider, and the request's policy", () => {
    const ended = message({ status: 'undelivered', seq: 4, attempts: 2, nextAttemptAt: null });
    const single = request({ provider: 'smtp', providers: [], retryPolicy: 'courier' });
    const decision = decideResend(ended, single, resendDeps());
    expect(decision.kind).toBe('resend');
    if (decision.kind !== 'resend') return;
    expect(decision.task).toMatchObject({
      provider: 'smtp',
      providers: [],
      retryPolicy: 'courier',
    });
    // courier: 25 attempts, counted on from the 2 already made.
    expect(decision.event.maxAttempts).toBe(2 + 25);
  });
});

describe('checkTask', () => {
  const check = (control: MessageControl | null, overrides: Partial<DeliveryTask> = {}) =>
    checkTask(
      task({ attempt: 3, nextSeq: 4, firstAttemptAt: now - MINUTE, ...overrides }),
      control,
      {
        now,
        newId: ids(),
      },
    );

  it('proceeds when the message has no control', () => {
    expect(check(null)).toEqual({ kind: 'proceed' });
  });

  it.each([
    ['canceled', 4],
    ['canceled', 9],
    ['resent', 4],
    ['resent', 7],
    ['cancel_requested', 4],
  ] as [MessageControl['state'], number][])(
    'drops the task as stale when the API claimed %s at seq %i, at or past its own',
    (state, seq) => {
      expect(check({ state, seq })).toEqual({ kind: 'stale' });
    },
  );

  it('records the canceled event instead of the call when a cancel was asked for', () => {
    // given a retry (attempt 3, writing seq 4) and a cancel asked for
    const decision = check({ state: 'cancel_requested', seq: 0 });
    // then the task writes canceled at its own seq, counting the attempts made
    expect(decision).toEqual({
      kind: 'cancel',
      event: expect.objectContaining({
        eventId: 'e-1',
        messageId: 'm-1',
        seq: 4,
        type: 'canceled',
        status: 'canceled',
        attempt: 2,
        occurredAt: now,
        nextAttemptAt: null,
      }),
    });
  });

  it('cancels a first attempt too, before any call', () => {
    const decision = check(
      { state: 'cancel_requested', seq: 0 },
      { attempt: 1, nextSeq: 2, firstAttemptAt: null },
    );
    expect(decision).toMatchObject({
      kind: 'cancel',
      event: { seq: 2, attempt: 0, status: 'canceled' },
    });
  });

  it("proceeds with a resend's task, whose seq is past the control's", () => {
    expect(check({ state: 'resent', seq: 3 })).toEqual({ kind: 'proceed' });
  });

  it('drops any task of a message the API canceled, even one past its seq', () => {
    // given a task made while the control could not be read (a MongoDB outage), past the cancel
    expect(check({ state: 'canceled', seq: 2 })).toEqual({ kind: 'stale' });
  });
});

describe('cancelAfterAttempt', () => {
  const cancelDeps = () => ({ now: now + 50, newId: ids('c') });

  it('records the attempt without its retry, then canceled, when the attempt would retry', () => {
    // given a failed attempt that scheduled a retry
    const outcome = afterAttempt(task({ providers: [] }), failed('retryable'), attemptDeps());
    expect(outcome.retry).not.toBeNull();
    const [attempted] = outcome.events;
    // when a cancel was asked for during the call
    const canceled = cancelAfterAttempt(outcome, cancelDeps());
    // then the attempt stands, with no next attempt, and canceled follows it
    expect(canceled).toEqual({
      events: [
        { ...attempted, nextAttemptAt: null },
        expect.objectContaining({
          eventId: 'c-1',
          seq: 3,
          type: 'canceled',
          status: 'canceled',
          attempt: 1,
          occurredAt: now + 50,
        }),
      ],
      retry: null,
      statusCheck: null,
    });
  });

  it('drops a failover too: the attempt that gave up, then canceled', () => {
    const outcome = afterAttempt(task(), failed('non_retryable', 'http_400'), attemptDeps());
    expect(outcome.events.map((event) => event.type)).toEqual([
      'delivery_attempted',
      'provider_failover',
    ]);
    const canceled = cancelAfterAttempt(outcome, cancelDeps());
    expect(canceled.events).toMatchObject([
      { type: 'delivery_attempted', seq: 2, nextAttemptAt: null, provider: 'sendgrid' },
      { type: 'canceled', seq: 3, status: 'canceled' },
    ]);
    expect(canceled.retry).toBeNull();
  });

  it.each([
    ['sent', sent],
    ['undelivered', failed('non_retryable')],
  ] as [string, SendResult][])(
    'leaves an outcome %s unchanged: the cancel came too late',
    (_what, result) => {
      const outcome = afterAttempt(task({ providers: [] }), result, attemptDeps());
      expect(cancelAfterAttempt(outcome, cancelDeps())).toBe(outcome);
    },
  );
});

describe('afterAttempt: provider failover', () => {
  it('moves on to the next provider at once on a non-retryable error', () => {
    // given a first attempt on sendgrid, smtp next in the chain
    const outcome = afterAttempt(task(), failed('non_retryable', 'http_400'), attemptDeps());
    // then the attempt, a provider_failover, and the next attempt on smtp, due now
    expect(outcome.events).toEqual([
      expect.objectContaining({
        eventId: 'e-1',
        seq: 2,
        type: 'delivery_attempted',
        status: 'delivery_attempted',
        attempt: 1,
        maxAttempts: KNOCK_ATTEMPTS,
        nextAttemptAt: now,
        provider: 'sendgrid',
        failover: null,
        error: { category: 'non_retryable', code: 'http_400', message: 'x' },
      }),
      expect.objectContaining({
        eventId: 'e-2',
        seq: 3,
        type: 'provider_failover',
        status: 'delivery_attempted',
        attempt: 1,
        nextAttemptAt: now,
        failover: {
          from: 'sendgrid',
          to: 'smtp',
          reason: 'non-retryable error from sendgrid: http_400',
        },
      }),
    ]);
    expect(outcome.retry).toEqual({
      ...task(),
      provider: 'smtp',
      attempt: 2,
      providerFirstAttempt: 2,
      providerFirstAttemptAt: now,
      firstAttemptAt: now,
      nextSeq: 4,
      dueAt: now,
    });
    expect(outcome.statusCheck).toBeNull();
  });

  it.each([
    ['no chain', task({ providers: [] })],
    [
      'the last provider of the chain',
      task({ provider: 'smtp', attempt: 2, providerFirstAttempt: 2 }),
    ],
  ])('ends undelivered on a non-retryable error with %s', (_what, last) => {
    const outcome = afterAttempt(last, failed('non_retryable', 'http_400'), attemptDeps());
    expect(outcome.events).toMatchObject([
      {
        type: 'undelivered',
        status: 'undelivered',
        provider: last.provider,
        error: { code: 'http_400' },
      },
    ]);
    expect(outcome.retry).toBeNull();
  });

  it('retries the same provider on a retryable error before failoverAfter', () => {
    // given the third attempt on sendgrid, failing for a minute (failoverAfter is 5 minutes)
    const third = task({ attempt: 3, nextSeq: 4, firstAttemptAt: now - MINUTE });
    const outcome = afterAttempt(third, failed('retryable'), attemptDeps());
    // then a plain retry on sendgrid: knock's third retry, 28 s at jitter 1
    expect(outcome.events).toMatchObject([
      {
        type: 'delivery_attempted',
        seq: 4,
        provider: 'sendgrid',
        nextAttemptAt: now + 28 * SECOND,
      },
    ]);
    expect(outcome.retry).toMatchObject({
      provider: 'sendgrid',
      attempt: 4,
      providerFirstAttempt: 1,
      providerFirstAttemptAt: now - MINUTE,
      firstAttemptAt: now - MINUTE,
      nextSeq: 5,
      dueAt: now + 28 * SECOND,
    });
  });

  describe('after failing for failoverAfter', () => {
    // failoverAfter 1m at time scale 0.001: 60 ms; knock's window becomes 1.8 s.
    const fast = attemptDeps({
      policy: { ...BUILT_IN_POLICIES.knock, failoverAfterMs: MINUTE },
      timeScale: 0.001,
    });
    const failingFor = (ms: number) =>
      task({ attempt: 3, nextSeq: 4, firstAttemptAt: now - ms, providerFirstAttemptAt: now - ms });

    it('still retries the same provider just before it', () => {
      const outcome = afterAttempt(failingFor(59), failed('retryable'), { ...fast, newId: ids() });
      expect(outcome.events.map((event) => event.type)).toEqual(['delivery_attempted']);
      expect(outcome.retry).toMatchObject({ provider: 'sendgrid', dueAt: now + 28 });
    });

    it.each([60, 100])('moves on to the next provider at %i ms', (ms) => {
      const outcome = afterAttempt(failingFor(ms), failed('retryable'), { ...fast, newId: ids() });
      expect(outcome.events).toMatchObject([
        { type: 'delivery_attempted', seq: 4, provider: 'sendgrid', nextAttemptAt: now },
        {
          type: 'provider_failover',
          seq: 5,
          failover: {
            from: 'sendgrid',
            to: 'smtp',
            reason: `sendgrid kept failing for ${ms}ms (failoverAfter 1m, time scale 0.001)`,
          },
        },
      ]);
      expect(outcome.retry).toMatchObject({
        provider: 'smtp',
        attempt: 4,
        providerFirstAttempt: 4,
        providerFirstAttemptAt: now,
        firstAttemptAt: now - ms,
        nextSeq: 6,
        dueAt: now,
      });
    });

    it('defaults to 5 minutes when the policy names none', () => {
      expect(failoverAfterMs(BUILT_IN_POLICIES.knock, 1)).toBe(DEFAULT_FAILOVER_AFTER_MS);
      expect(DEFAULT_FAILOVER_AFTER_MS).toBe(5 * MINUTE);
      const fiveMinutes = task({
        attempt: 6,
        nextSeq: 7,
        firstAttemptAt: now - 5 * MINUTE,
      });
      const outcome = afterAttempt(fiveMinutes, failed('retryable'), attemptDeps());
      expect(outcome.events[1]?.failover?.reason).toBe(
        'sendgrid kept failing for 5m (failoverAfter 5m)',
      );
      expect(outcome.retry?.provider).toBe('smtp');
    });
  });

  it("moves on to the next provider when the first's schedule is exhausted", () => {
    const last = task({ attempt: KNOCK_ATTEMPTS, nextSeq: 10, firstAttemptAt: now - 2 * SECOND });
    const outcome = afterAttempt(last, failed('retryable'), attemptDeps());
    expect(outcome.events).toMatchObject([
      { type: 'delivery_attempted', attempt: 9, maxAttempts: 9 },
      {
        type: 'provider_failover',
        failover: { from: 'sendgrid', to: 'smtp', reason: 'retries exhausted after 9 attempts' },
      },
    ]);
    expect(outcome.retry).toMatchObject({
      provider: 'smtp',
      attempt: 10,
      providerFirstAttempt: 10,
      nextSeq: 12,
    });
  });

  it("ends undelivered when the last provider's schedule is exhausted", () => {
    // smtp took over at attempt 10: its 9 attempts end at 18.
    const last = task({
      provider: 'smtp',
      attempt: 18,
      providerFirstAttempt: 10,
      providerFirstAttemptAt: now - 2 * SECOND,
      firstAttemptAt: now - 4 * SECOND,
      nextSeq: 21,
    });
    const outcome = afterAttempt(last, failed('retryable'), attemptDeps());
    expect(outcome.events).toMatchObject([
      {
        type: 'undelivered',
        attempt: 18,
        maxAttempts: 18,
        provider: 'smtp',
        error: { code: 'http_503', message: 'x (retries exhausted after 9 attempts)' },
      },
    ]);
    expect(outcome.retry).toBeNull();
  });

  it("counts the fallback's schedule and window from its own first attempt", () => {
    // given smtp's first attempt (10) after a failover, long after the run's knock window
    // (30 minutes) began, but a second after smtp's did
    const fallback = task({
      provider: 'smtp',
      attempt: 10,
      providerFirstAttempt: 10,
      providerFirstAttemptAt: now - SECOND,
      firstAttemptAt: now - 40 * MINUTE,
      nextSeq: 12,
    });
    // when it fails
    const outcome = afterAttempt(fallback, failed('retryable'), attemptDeps());
    // then smtp's first retry follows knock's first delay (7 s at jitter 1)
    expect(outcome.events).toMatchObject([
      {
        type: 'delivery_attempted',
        status: 'delivery_attempted',
        attempt: 10,
        maxAttempts: 10 - 1 + KNOCK_ATTEMPTS,
        provider: 'smtp',
        nextAttemptAt: now + 7 * SECOND,
      },
    ]);
    expect(outcome.retry).toMatchObject({
      provider: 'smtp',
      attempt: 11,
      providerFirstAttempt: 10,
      providerFirstAttemptAt: now - SECOND,
      firstAttemptAt: now - 40 * MINUTE,
      dueAt: now + 7 * SECOND,
    });
  });
});

describe('delivery status machine: message controls', () => {
  it.each(['queued', 'delivery_attempted'] as DeliveryStatus[])(
    'lets a message %s be canceled or moved on to its next provider',
    (status) => {
      expect(canFollow(status, 'canceled')).toBe(true);
      expect(canFollow(status, 'provider_failover')).toBe(true);
      expect(canFollow(status, 'resend_requested')).toBe(false);
    },
  );

  it.each(['undelivered', 'bounced', 'canceled'] as DeliveryStatus[])(
    'lets a message %s be resent, and nothing else',
    (status) => {
      expect(canFollow(status, 'resend_requested')).toBe(true);
      expect(canFollow(status, 'canceled')).toBe(false);
      expect(canFollow(status, 'provider_failover')).toBe(false);
      expect(statusAfter('resend_requested', status)).toBe('queued');
    },
  );

  it.each(['sent', 'delivered', 'not_sent'] as DeliveryStatus[])(
    'neither cancels nor resends a message %s',
    (status) => {
      expect(canFollow(status, 'canceled')).toBe(false);
      expect(canFollow(status, 'resend_requested')).toBe(false);
    },
  );

  it('leaves the status as it was after a failover, and makes canceled terminal', () => {
    expect(statusAfter('provider_failover', 'delivery_attempted')).toBe('delivery_attempted');
    expect(statusAfter('provider_failover', 'queued')).toBe('queued');
    expect(statusAfter('provider_failover', null)).toBe('delivery_attempted');
    expect(statusAfter('canceled', 'delivery_attempted')).toBe('canceled');
    expect(isTerminal('canceled')).toBe(true);
    expect(canFollow(null, 'canceled')).toBe(false);
  });
});

describe('messageActions', () => {
  it('reads cancel and resend off the status machine', () => {
    const actions = Object.fromEntries(
      DELIVERY_STATUSES.map((status) => [status, messageActions(status)]),
    );
    expect(actions).toEqual({
      queued: { cancel: true, resend: false },
      delivery_attempted: { cancel: true, resend: false },
      sent: { cancel: false, resend: false },
      delivered: { cancel: false, resend: false },
      undelivered: { cancel: false, resend: true },
      bounced: { cancel: false, resend: true },
      not_sent: { cancel: false, resend: false },
      canceled: { cancel: false, resend: true },
    });
  });
});

describe('read model: message controls', () => {
  /** The queued event ingest writes for request(): seq 1, its summary naming the chain. */
  const queued = (): MessageEvent => {
    const catalog: ProviderCatalog = { problemWith: () => null };
    const decision = ingestRequest(request(), {
      providers: catalog,
      policies,
      now,
      newId: () => 'q-1',
    });
    if (decision.kind !== 'queued') throw new Error(`not queued: ${decision.event.error?.message}`);
    return decision.event;
  };

  /** Folds the events, requiring every one to be a legal transition. */
  const foldLegally = (events: MessageEvent[]): MessageDocument => {
    let doc: MessageDocument | null = null;
    for (const event of events) {
      const result = applyEvent(doc, event);
      expect([event.seq, event.type, result.legal]).toEqual([event.seq, event.type, true]);
      doc = result.doc;
    }
    if (!doc) throw new Error('no events');
    return doc;
  };

  it('follows a failover to the provider that sent it, keeping the chain', () => {
    // given sendgrid refusing the first attempt, then smtp taking the mail
    const first = afterAttempt(task(), failed('non_retryable', 'http_400'), attemptDeps());
    const fallback = first.retry!;
    const second = afterAttempt(fallback, sent, attemptDeps({ now: now + 5, startedAt: now + 4 }));
    const events = [queued(), ...first.events, ...second.events];
    // when they are folded
    const doc = foldLegally(events);
    // then the message is sent by smtp, and each event says which provider it called
    expect(doc).toMatchObject({
      status: 'sent',
      provider: 'smtp',
      providers: ['sendgrid', 'smtp'],
      attempts: 2,
      seq: 4,
      sentAt: now + 5,
      providerMessageId: 'id-1',
    });
    expect(toApiMessage(doc)).toMatchObject({
      provider: 'smtp',
      providers: ['sendgrid', 'smtp'],
      actions: { cancel: false, resend: false },
    });
    const shown = events.map((event) => toApiEvent(toEventDocument(event)));
    expect(shown.map(({ type, provider, failover }) => ({ type, provider, failover }))).toEqual([
      { type: 'queued', provider: null, failover: null },
      { type: 'delivery_attempted', provider: 'sendgrid', failover: null },
      {
        type: 'provider_failover',
        provider: null,
        failover: {
          from: 'sendgrid',
          to: 'smtp',
          reason: 'non-retryable error from sendgrid: http_400',
        },
      },
      { type: 'sent', provider: 'smtp', failover: null },
    ]);
    expect(toApiLog(toEventDocument(second.events[0]!))?.provider).toBe('smtp');
  });

  it('records when a message was canceled', () => {
    // given a retry waiting in a delay tier, canceled by the API
    const attempted = afterAttempt(task(), failed('retryable'), attemptDeps()).events;
    const waiting = foldLegally([queued(), ...attempted]);
    const decision = decideCancel(waiting, { now: now + SECOND, newId: ids('c') });
    expect(decision.kind).toBe('claim');
    if (decision.kind !== 'claim') return;
    // when its canceled event is folded
    const doc = foldLegally([queued(), ...attempted, decision.event]);
    // then
    expect(doc).toMatchObject({ status: 'canceled', canceledAt: now + SECOND, seq: 3, resends: 0 });
    expect(toApiMessage(doc)).toMatchObject({
      status: 'canceled',
      canceledAt: new Date(now + SECOND).toISOString(),
      actions: { cancel: false, resend: true },
    });
  });

  it('counts a resend, queued again', () => {
    // given a message that ended undelivered
    const ended = afterAttempt(task({ providers: [] }), failed('non_retryable'), attemptDeps());
    const before = foldLegally([queued(), ...ended.events]);
    expect(before.status).toBe('undelivered');
    // when it is resent
    const decision = decideResend(before, request(), {
      now: now + MINUTE,
      newId: ids('r'),
      policies,
    });
    expect(decision.kind).toBe('resend');
    if (decision.kind !== 'resend') return;
    const doc = foldLegally([queued(), ...ended.events, decision.event]);
    // then
    expect(doc).toMatchObject({ status: 'queued', resends: 1, seq: 3, canceledAt: null });
    expect(toApiMessage(doc)).toMatchObject({
      status: 'queued',
      resends: 1,
      actions: { cancel: true, resend: false },
    });
    expect(decision.task).toMatchObject({ attempt: 2, nextSeq: 4, provider: 'sendgrid' });
  });
});

describe('request bounds: providers', () => {
  const problems = (overrides: Partial<MessageRequested>) =>
    requestBoundsProblems(request(overrides), now);

  it('accepts no chain, or a chain that starts with provider, up to 5 names of 100 characters', () => {
    expect(problems({ providers: [] })).toEqual([]);
    expect(problems({ providers: ['sendgrid', 'smtp'] })).toEqual([]);
    const five = ['sendgrid', 'a', 'b', 'c', 'x'.repeat(REQUEST_LIMITS.nameLength)];
    expect(five).toHaveLength(REQUEST_LIMITS.providers);
    expect(problems({ providers: five })).toEqual([]);
  });

  it.each([
    ['6 providers', ['sendgrid', 'a', 'b', 'c', 'd', 'e'], 'must name at most 5 providers'],
    [
      'a name over 100 characters',
      ['sendgrid', 'x'.repeat(101)],
      'names must be at most 100 characters',
    ],
    ['a provider twice', ['sendgrid', 'smtp', 'sendgrid'], 'must not name a provider twice'],
    [
      'a chain not starting with provider',
      ['smtp', 'sendgrid'],
      "must start with provider ('sendgrid'), the one tried first",
    ],
  ])('refuses %s', (_what, providers, problem) => {
    expect(problems({ providers })).toEqual([{ field: 'providers', problem }]);
  });

  it('ends a Kafka request naming an unknown fallback not_sent, naming providers', () => {
    const catalog: ProviderCatalog = {
      problemWith: (provider) => (provider === 'pigeon' ? `unknown provider '${provider}'` : null),
    };
    const decision = ingestRequest(request({ providers: ['sendgrid', 'pigeon'] }), {
      providers: catalog,
      policies,
      now,
      newId: ids(),
    });
    expect(decision.kind).toBe('not_sent');
    expect(decision.event.error).toEqual({
      category: 'non_retryable',
      code: 'unknown_provider',
      message: "providers: unknown provider 'pigeon'",
    });
  });

  it('queues a request with a chain: its task and summary carry it', () => {
    const decision = ingestRequest(request(), {
      providers: { problemWith: () => null },
      policies,
      now,
      newId: ids(),
    });
    expect(decision.kind).toBe('queued');
    if (decision.kind !== 'queued') return;
    expect(decision.event.message?.providers).toEqual(['sendgrid', 'smtp']);
    expect(decision.task).toMatchObject({
      provider: 'sendgrid',
      providers: ['sendgrid', 'smtp'],
      providerFirstAttempt: 1,
      providerFirstAttemptAt: null,
      firstAttemptAt: null,
    });
  });
});

describe('policy file: failoverAfter', () => {
  const file = (...lines: string[]) =>
    [
      'policies:',
      '  gentle:',
      '    send: { kind: exponential, maxRetries: 5, window: 10m, base: 1s, factor: 2, jitter: equal }',
      ...lines,
      '',
    ].join('\n');

  it('reads failoverAfter as a duration, and leaves it out when absent', () => {
    const [withIt] = parsePolicyFile(file('    failoverAfter: 2m'), 'policies.yaml');
    expect(withIt?.failoverAfterMs).toBe(2 * MINUTE);
    expect(failoverAfterMs(withIt!, 1)).toBe(2 * MINUTE);
    expect(failoverAfterMs(withIt!, 0.001)).toBe(120);
    const [without] = parsePolicyFile(file(), 'policies.yaml');
    expect(without).not.toHaveProperty('failoverAfterMs');
    expect(failoverAfterMs(without!, 1)).toBe(DEFAULT_FAILOVER_AFTER_MS);
    const [inMs] = parsePolicyFile(file('    failoverAfter: 90000'), 'policies.yaml');
    expect(inMs?.failoverAfterMs).toBe(90 * SECOND);
  });

  it.each([
    ['0', 'must be longer than 0'],
    ['-1s', 'must be a duration'],
    ['soon', 'must be a duration'],
  ])('refuses failoverAfter %s, with its line', (value, problem) => {
    const parse = () => parsePolicyFile(file(`    failoverAfter: ${value}`), 'policies.yaml');
    expect(parse).toThrow(PolicyFileError);
    expect(parse).toThrow(`policies.yaml:4:20: policies.gentle.failoverAfter: ${problem}`);
  });
});

describe('parseMessageRequest: providers', () => {
  const body = { channel: 'email', recipient: 'ada@example.com', content: { text: 'hi' } };

  it('takes provider from the first of providers when only the chain is given', () => {
    const parsed = parseMessageRequest({ ...body, providers: ['sendgrid', 'smtp'] }, now, ids('m'));
    expect(parsed).toEqual({
      request: expect.objectContaining({
        messageId: 'm-1',
        provider: 'sendgrid',
        providers: ['sendgrid', 'smtp'],
      }),
    });
  });

  it('takes provider alone as no chain', () => {
    const parsed = parseMessageRequest({ ...body, provider: 'smtp' }, now, ids('m'));
    expect(parsed).toEqual({
      request: expect.objectContaining({ provider: 'smtp', providers: [] }),
    });
  });

  it('names provider when neither is given', () => {
    const parsed = parseMessageRequest(body, now, ids('m'));
    expect(parsed).toEqual({ problems: [{ field: 'provider', problem: expect.any(String) }] });
  });

  it('reads an empty chain beside provider as just provider, as the Avro record does', () => {
    const parsed = parseMessageRequest({ ...body, provider: 'smtp', providers: [] }, now, ids('m'));
    expect(parsed).toEqual({
      request: expect.objectContaining({ provider: 'smtp', providers: [] }),
    });
  });

  it('names provider for an empty chain alone, with the other fields problems', () => {
    const parsed = parseMessageRequest({ ...body, providers: [], recipient: 7 }, now, ids('m'));
    expect('problems' in parsed && parsed.problems.map((p) => p.field).sort()).toEqual([
      'provider',
      'recipient',
    ]);
  });

  it.each([
    ['a chain of 6', { providers: ['a', 'b', 'c', 'd', 'e', 'f'] }],
    ['a chain not starting with provider', { provider: 'smtp', providers: ['sendgrid', 'smtp'] }],
    ['a provider twice', { providers: ['smtp', 'smtp'] }],
  ])('refuses %s, naming providers', (_what, fields) => {
    const parsed = parseMessageRequest({ ...body, ...fields }, now, ids('m'));
    expect('problems' in parsed && parsed.problems.map((p) => p.field)).toEqual(['providers']);
  });
});
