import { randomUUID } from 'node:crypto';
import type { MessageRequested } from '@herald/messages';
import {
  afterAttempt,
  ingestRequest,
  parseMessageRequest,
  type DeliveryTask,
} from '@herald/decisions';
import { type SendResult } from '@herald/decisions';
import { ProviderRegistry, WebhookProvider } from '@herald/providers';
import { BUILT_IN_POLICIES, PolicyRegistry } from '@herald/retry-policy';

const now = 1_800_000_000_000;
const providers = new ProviderRegistry(
  [new WebhookProvider({ timeoutMs: 1000, headers: {}, headerHosts: [] })],
  ['twilio'],
);
const policies = PolicyRegistry.withBuiltIns();

const request = (overrides: Partial<MessageRequested> = {}): MessageRequested => ({
  messageId: 'm-1',
  tenantId: 't-1',
  channel: 'webhook',
  provider: 'webhook',
  providers: [],
  recipient: 'https://hooks.example.test/x?token=s3cret',
  content: { body: 'hi' },
  retryPolicy: null,
  metadata: { k: 'v' },
  requestedAt: now - 10,
  ...overrides,
});

describe('ingestRequest', () => {
  it('queues a valid request with its channel default policy and a first task due now', () => {
    const decision = ingestRequest(request(), { providers, policies, now, newId: randomUUID });
    expect(decision.kind).toBe('queued');
    if (decision.kind !== 'queued') return;
    expect(decision.event).toMatchObject({
      messageId: 'm-1',
      seq: 1,
      type: 'queued',
      status: 'queued',
      attempt: 0,
      maxAttempts: 297,
      occurredAt: now,
      message: {
        retryPolicy: 'webhook',
        recipient: 'https://hooks.example.test/x?token=[REDACTED]',
      },
    });
    expect(decision.task).toMatchObject({
      attempt: 1,
      nextSeq: 2,
      dueAt: now,
      firstAttemptAt: null,
      retryPolicy: 'webhook',
      // The task keeps the real recipient: the provider needs it.
      recipient: 'https://hooks.example.test/x?token=s3cret',
    });
  });

  it.each([
    [{ provider: 'pigeon' }, 'unknown_provider', /provider: unknown provider 'pigeon'/],
    [{ channel: 'sms' as const }, 'unknown_provider', /does not serve channel 'sms'/],
    [
      { channel: 'sms' as const, provider: 'twilio', recipient: '+14155550123' },
      'unknown_provider',
      /provider 'twilio' is not configured/,
    ],
    [{ recipient: 'not a url' }, 'invalid_recipient', /recipient: must be an http\(s\) URL/],
    [{ retryPolicy: 'eager' }, 'unknown_retry_policy', /retryPolicy: unknown policy 'eager'/],
  ])('rejects %j as not_sent with %s', (overrides, code, message) => {
    const decision = ingestRequest(request(overrides), {
      providers,
      policies,
      now,
      newId: randomUUID,
    });
    expect(decision.kind).toBe('not_sent');
    expect(decision.event).toMatchObject({ type: 'not_sent', status: 'not_sent', seq: 1 });
    expect(decision.event.error).toMatchObject({ category: 'non_retryable', code });
    expect(decision.event.error?.message).toMatch(message);
  });
});

describe('afterAttempt', () => {
  const task: DeliveryTask = {
    messageId: 'm-1',
    tenantId: 't-1',
    channel: 'webhook',
    provider: 'webhook',
    providers: [],
    providerFirstAttempt: 1,
    providerFirstAttemptAt: null,
    recipient: 'https://hooks.example.test/x',
    content: {},
    metadata: {},
    retryPolicy: 'knock',
    requestedAt: now - 100,
    attempt: 1,
    firstAttemptAt: null,
    nextSeq: 2,
    dueAt: now,
  };
  const log = {
    request: { method: 'POST', url: task.recipient, headers: {}, body: null },
    response: { status: 503, headers: {}, body: null },
    durationMs: 3,
  };
  const failed = (
    category: 'retryable' | 'non_retryable' | 'network',
    retryAfterMs?: number,
  ): SendResult => ({
    ok: false,
    error: { category, code: category === 'network' ? 'ECONNRESET' : 'http_503', message: 'x' },
    retryAfterMs,
    log,
  });
  const deps = {
    policy: BUILT_IN_POLICIES.knock,
    startedAt: now,
    now: now + 5,
    timeScale: 1,
    newId: randomUUID,
    checksStatus: false,
    random: () => 1,
  };

  it('records sent on success, ending the attempts', () => {
    const outcome = afterAttempt(
      task,
      { ok: true, status: 'sent', providerMessageId: null, log },
      deps,
    );
    expect(outcome.retry).toBeNull();
    expect(outcome.events).toMatchObject([
      { type: 'sent', status: 'sent', seq: 2, attempt: 1, maxAttempts: 9, provider: 'webhook' },
    ]);
  });

  it('starts status checks after a sent the provider can report on', () => {
    const accepted: SendResult = { ok: true, status: 'sent', providerMessageId: 'SM1', log };
    const outcome = afterAttempt(task, accepted, { ...deps, checksStatus: true });
    expect(outcome.events).toMatchObject([{ type: 'sent', providerMessageId: 'SM1' }]);
    expect(outcome.statusCheck).toMatchObject({
      messageId: task.messageId,
      providerMessageId: 'SM1',
      attempt: 1,
      sentAt: now + 5,
      dueAt: now + 5,
      nextSeq: 3,
    });
    // No check without a provider id to ask about, nor for a provider that cannot answer.
    const anonymous = { ...accepted, providerMessageId: null };
    expect(afterAttempt(task, anonymous, { ...deps, checksStatus: true }).statusCheck).toBeNull();
    expect(afterAttempt(task, accepted, deps).statusCheck).toBeNull();
    // Nor when the policy does not poll (the webhook policy has no status-check schedule).
    const webhook = { ...deps, checksStatus: true, policy: BUILT_IN_POLICIES.webhook };
    expect(afterAttempt(task, accepted, webhook).statusCheck).toBeNull();
  });

  it('schedules the next attempt by the policy on a retryable failure', () => {
    const outcome = afterAttempt(task, failed('retryable'), deps);
    expect(outcome.events).toMatchObject([
      {
        type: 'delivery_attempted',
        status: 'delivery_attempted',
        nextAttemptAt: now + 5 + 7_000,
        provider: 'webhook',
        failover: null,
      },
    ]);
    expect(outcome.retry).toMatchObject({
      attempt: 2,
      nextSeq: 3,
      firstAttemptAt: now,
      dueAt: now + 5 + 7_000,
    });
  });

  it('retries network errors too, and never before Retry-After', () => {
    const outcome = afterAttempt(task, failed('network', 60_000), deps);
    expect(outcome.retry?.dueAt).toBe(now + 5 + 60_000);
  });

  it('ends undelivered at once on a non-retryable failure', () => {
    const outcome = afterAttempt(task, failed('non_retryable'), deps);
    expect(outcome.retry).toBeNull();
    expect(outcome.events).toMatchObject([
      { type: 'undelivered', status: 'undelivered', error: { code: 'http_503' } },
    ]);
  });

  it('ends undelivered with the reason when the retries are exhausted', () => {
    const last = { ...task, attempt: 9, firstAttemptAt: now - 1_000_000, nextSeq: 10 };
    const outcome = afterAttempt(last, failed('retryable'), deps);
    expect(outcome.retry).toBeNull();
    expect(outcome.events).toMatchObject([
      {
        type: 'undelivered',
        error: { message: expect.stringMatching(/retries exhausted after 9 attempts/) },
      },
    ]);
  });
});

describe('parseMessageRequest', () => {
  it('fills the optional fields', () => {
    const parsed = parseMessageRequest(
      { channel: 'webhook', provider: 'webhook', recipient: 'https://x.test', content: {} },
      now,
      randomUUID,
    );
    expect(parsed).toMatchObject({
      request: { tenantId: 'default', retryPolicy: null, metadata: {}, requestedAt: now },
    });
    if ('request' in parsed) expect(parsed.request.messageId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('names every bad field, including unknown ones', () => {
    const parsed = parseMessageRequest(
      { channel: 'fax', recipient: 7, content: { a: 1 }, colour: 'red' },
      now,
      randomUUID,
    );
    expect('problems' in parsed && parsed.problems.map((p) => p.field).sort()).toEqual([
      'channel',
      'colour',
      'content.a',
      'provider',
      'recipient',
    ]);
  });
});
