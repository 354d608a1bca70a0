import { randomUUID } from 'node:crypto';
import type { MessageEvent, ProviderExchange } from '@herald/messages';
import { afterStatusCheck, CHECKS_EXHAUSTED, type StatusCheckTask } from '@herald/decisions';
import type { StatusCheckResult } from '@herald/decisions';
import { BUILT_IN_POLICIES, maxAttemptsOf, policyDelayMs } from '@herald/retry-policy';

const sentAt = 1_800_000_000_000;
const log: ProviderExchange = {
  request: { method: 'GET', url: 'https://api.example.test/m/SM1', headers: {}, body: null },
  response: { status: 200, headers: {}, body: '{"status":"sending"}' },
  durationMs: 12,
};
const task: StatusCheckTask = {
  messageId: 'm-1',
  tenantId: 't-1',
  channel: 'sms',
  provider: 'twilio',
  recipient: '+14155550123',
  providerMessageId: 'SM1',
  retryPolicy: 'knock',
  attempt: 1,
  sentAt,
  nextSeq: 4,
  dueAt: sentAt,
};
const knock = BUILT_IN_POLICIES.knock.statusCheck;
const courier = BUILT_IN_POLICIES.courier.statusCheck;
const pending: StatusCheckResult = { ok: true, outcome: 'pending', providerStatus: 'sending', log };
const deps = {
  schedule: knock,
  now: sentAt + 10,
  timeScale: 1,
  newId: randomUUID,
  random: () => 1,
};

describe('afterStatusCheck', () => {
  it('records the check, then delivered, when the provider confirms', () => {
    const outcome = afterStatusCheck(task, { ok: true, outcome: 'delivered', log }, deps);
    expect(outcome.next).toBeNull();
    expect(outcome.events).toHaveLength(2);
    // The check carries the exchange; the outcome follows at the next seq.
    expect(outcome.events[0]).toMatchObject({
      type: 'status_check_attempted',
      status: 'sent',
      seq: 4,
      attempt: 1,
      maxAttempts: 11,
      log,
      nextAttemptAt: null,
    });
    expect(outcome.events[1]).toMatchObject({
      type: 'delivered',
      status: 'delivered',
      seq: 5,
      attempt: 1,
      providerMessageId: 'SM1',
      error: null,
      log: null,
    });
  });

  it.each(['bounced', 'undelivered'] as const)('records %s with the provider reason', (outcome) => {
    const error = { category: 'non_retryable' as const, code: 'twilio_30005', message: 'Unknown' };
    const result = afterStatusCheck(task, { ok: true, outcome, error, log }, deps);
    expect(result.next).toBeNull();
    expect(result.events.map((e) => e.type)).toEqual(['status_check_attempted', outcome]);
    expect(result.events[1]).toMatchObject({ type: outcome, status: outcome, error });
  });

  it('schedules the next check by the status-check schedule while the provider has no answer', () => {
    const outcome = afterStatusCheck(task, pending, deps);
    expect(outcome.events[0]).toMatchObject({
      type: 'status_check_attempted',
      status: 'sent',
      attempt: 1,
      error: null,
      nextAttemptAt: deps.now + policyDelayMs(knock!, 1, () => 1),
    });
    expect(outcome.next).toMatchObject({ attempt: 2, nextSeq: 5, dueAt: deps.now + 1_500 });
  });

  it('retries a failed check like a send, honouring Retry-After', () => {
    const failure: StatusCheckResult = {
      ok: false,
      error: { category: 'retryable', code: 'http_429', message: '429 Too Many Requests' },
      retryAfterMs: 20_000,
      log,
    };
    const outcome = afterStatusCheck(task, failure, deps);
    expect(outcome.events[0]).toMatchObject({
      error: failure.error,
      nextAttemptAt: deps.now + 20_000,
    });
    expect(outcome.next?.dueAt).toBe(deps.now + 20_000);
  });

  it('stops at a check that can never succeed; the message stays sent', () => {
    const failure: StatusCheckResult = {
      ok: false,
      error: { category: 'non_retryable', code: 'twilio_20404', message: 'not found' },
      log,
    };
    const outcome = afterStatusCheck(task, failure, deps);
    expect(outcome.next).toBeNull();
    expect(outcome.events[0]).toMatchObject({
      type: 'status_check_attempted',
      status: 'sent',
      nextAttemptAt: null,
      error: { code: 'twilio_20404', message: 'not found (status checks stopped)' },
    });
  });

  it.each([
    ['knock', knock!, 11],
    ['courier', courier!, 25],
  ])('under %s makes exactly %d checks, then says they are exhausted', (_, schedule, checks) => {
    expect(maxAttemptsOf(schedule)).toBe(checks);
    let current: StatusCheckTask | null = task;
    let now = sentAt;
    const events: MessageEvent[] = [];
    while (current) {
      now = current.dueAt;
      const outcome = afterStatusCheck(current, pending, {
        schedule,
        now,
        timeScale: 0.001,
        newId: randomUUID,
        random: Math.random,
      });
      events.push(...outcome.events);
      current = outcome.next;
    }
    expect(events).toHaveLength(checks);
    expect(events.map((e) => e.attempt)).toEqual(Array.from({ length: checks }, (_, i) => i + 1));
    expect(events.every((e) => e.type === 'status_check_attempted' && e.status === 'sent')).toBe(
      true,
    );
    const last = events[events.length - 1]!;
    expect(last.nextAttemptAt).toBeNull();
    expect(last.error).toMatchObject({ code: CHECKS_EXHAUSTED });
    expect(last.error?.message).toMatch(/provider still reports 'sending'/);
  });

  it('ends the checks when the policy no longer has a status-check schedule', () => {
    const outcome = afterStatusCheck(task, pending, { ...deps, schedule: null });
    expect(outcome.next).toBeNull();
    expect(outcome.events[0]!.error).toMatchObject({ code: CHECKS_EXHAUSTED });
  });
});
