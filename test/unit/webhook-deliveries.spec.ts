import type { ProviderExchange } from '@herald/messages';
import {
  afterWebhookAttempt,
  droppedDelivery,
  FAILING_DISABLES_AFTER_MS,
  latestSnapshots,
  newDelivery,
  nextSnapshot,
  resentDelivery,
  toApiAttempt,
  toApiDelivery,
  type AttemptDecision,
  type DeliveryDeps,
  type DeliverySnapshot,
  type WebhookCallResult,
  type WebhookDeliveryEvent,
  type WebhookDeliveryTask,
  type WebhookEndpoint,
} from '@herald/webhooks';

const now = 1_800_000_000_000;
const SECOND = 1000;
const DAY = 24 * 3600 * SECOND;
const PAYLOAD = '{"type":"message.sent","timestamp":"2027-01-15T08:00:00.000Z","data":{}}';

/** Ids in order, so an event's id says which call made it. */
function counter(prefix = 'ev'): () => string {
  let n = 0;
  return () => `${prefix}-${++n}`;
}

function deps(overrides: Partial<DeliveryDeps> = {}): DeliveryDeps {
  return { timeScale: 1, random: () => 0.5, newId: counter(), ...overrides };
}

const fields = {
  deliveryId: 'msg_d1',
  endpointId: 'ep-1',
  tenantId: 't-1',
  messageId: 'm-1',
  eventType: 'message.sent',
  messageEventId: 'me-1',
  messageOccurredAt: now - 100,
  payload: PAYLOAD,
};

type EndpointState = Pick<WebhookEndpoint, 'id' | 'tenantId' | 'failingSince'>;
const healthy: EndpointState = { id: 'ep-1', tenantId: 't-1', failingSince: null };

function givenTask(overrides: Partial<WebhookDeliveryTask> = {}): WebhookDeliveryTask {
  return {
    ...fields,
    run: 1,
    attempt: 1,
    seq: 1,
    firstAttemptAt: null,
    dueAt: now,
    ...overrides,
  };
}

function exchange(status: number | null, body: string | null = null): ProviderExchange {
  return {
    request: {
      method: 'POST',
      url: 'https://hooks.example.test/in',
      headers: { 'content-type': 'application/json', 'webhook-id': 'msg_d1' },
      body: PAYLOAD,
    },
    response: status === null ? null : { status, headers: { 'content-type': 'text/plain' }, body },
    durationMs: 42,
  };
}

function answered(
  status: number,
  startedAt: number,
  overrides: Partial<WebhookCallResult> = {},
): WebhookCallResult {
  const ok = status >= 200 && status < 300;
  return {
    ok,
    status,
    error: ok ? null : { code: `http_${status}`, message: `the endpoint answered ${status}` },
    retryAfterMs: null,
    log: exchange(status, ok ? 'thanks' : 'busy'),
    startedAt,
    finishedAt: startedAt + 42,
    ...overrides,
  };
}

describe('newDelivery', () => {
  it('given a message event for an endpoint, then a created event (seq 1, pending, payload) and attempt 1 due now', () => {
    const { event, task } = newDelivery(fields, now, counter());

    expect(event).toEqual({
      eventId: 'ev-1',
      deliveryId: 'msg_d1',
      endpointId: 'ep-1',
      tenantId: 't-1',
      seq: 1,
      type: 'created',
      status: 'pending',
      occurredAt: now,
      run: 1,
      attempt: 0,
      messageId: 'm-1',
      messageEventId: 'me-1',
      eventType: 'message.sent',
      payload: PAYLOAD,
      nextAttemptAt: null,
      log: null,
      error: null,
      reason: null,
    });
    expect(task).toEqual({
      ...fields,
      run: 1,
      attempt: 1,
      seq: 1,
      firstAttemptAt: null,
      dueAt: now,
    });
  });
});

describe('afterWebhookAttempt', () => {
  describe('given the endpoint answers 2xx', () => {
    it('then one succeeded event carrying the call, and no retry', () => {
      const task = givenTask({ attempt: 3, seq: 4, firstAttemptAt: now - 15 * SECOND });
      const result = answered(204, now);

      const decision = afterWebhookAttempt(task, result, healthy, deps());

      expect(decision.events).toHaveLength(1);
      expect(decision.events[0]).toMatchObject({
        type: 'succeeded',
        status: 'succeeded',
        seq: 5,
        run: 1,
        attempt: 3,
        deliveryId: 'msg_d1',
        occurredAt: result.finishedAt,
        log: result.log,
        error: null,
        nextAttemptAt: null,
        reason: null,
        payload: null,
      });
      expect(decision.retry).toBeNull();
      expect(decision.disable).toBeNull();
    });

    it('when the endpoint was not failing, then its failingSince is left alone (no key)', () => {
      const decision = afterWebhookAttempt(givenTask(), answered(200, now), healthy, deps());
      expect('failingSince' in decision).toBe(false);
    });

    it('when the endpoint was failing, then failingSince: null ends the run of failures', () => {
      const failing = { ...healthy, failingSince: now - DAY };
      const decision = afterWebhookAttempt(givenTask(), answered(200, now), failing, deps());
      expect(decision).toHaveProperty('failingSince', null);
    });
  });

  describe('given the endpoint answers 503', () => {
    it('when it is attempt 1, then attempted with nextAttemptAt, and attempt 2 due 5 s after the call ended', () => {
      const task = givenTask();
      const result = answered(503, now + 7);

      const decision = afterWebhookAttempt(task, result, healthy, deps());

      const due = result.finishedAt + 5 * SECOND;
      expect(decision.events).toHaveLength(1);
      expect(decision.events[0]).toMatchObject({
        type: 'attempted',
        status: 'pending',
        seq: 2,
        attempt: 1,
        occurredAt: result.finishedAt,
        nextAttemptAt: due,
        log: result.log,
        error: result.error,
      });
      expect(decision.retry).toEqual({
        ...task,
        attempt: 2,
        seq: 2,
        firstAttemptAt: result.startedAt,
        dueAt: due,
      });
      expect(decision.disable).toBeNull();
    });

    it('when the endpoint had no failingSince, then it becomes the start of this call', () => {
      const result = answered(503, now + 7);
      const decision = afterWebhookAttempt(givenTask(), result, healthy, deps());
      expect(decision).toHaveProperty('failingSince', result.startedAt);
    });

    it('when the endpoint was already failing, then failingSince is left alone (no key)', () => {
      const failing = { ...healthy, failingSince: now - DAY };
      const decision = afterWebhookAttempt(givenTask(), answered(503, now), failing, deps());
      expect('failingSince' in decision).toBe(false);
      expect(decision.retry).not.toBeNull();
    });

    it('when it is a later attempt, then firstAttemptAt is kept and the delay follows the schedule', () => {
      const first = now - 15 * SECOND;
      const task = givenTask({ attempt: 3, seq: 4, firstAttemptAt: first });
      const result = answered(503, now);

      const decision = afterWebhookAttempt(task, result, healthy, deps());

      // Retry 3 (after the 3rd attempt) is the third listed delay: 20 s.
      expect(decision.retry).toMatchObject({
        attempt: 4,
        seq: 5,
        firstAttemptAt: first,
        dueAt: result.finishedAt + 20 * SECOND,
      });
      expect(decision.events[0]).toMatchObject({ seq: 5, attempt: 3 });
    });

    it.each([
      [1, 5],
      [2, 10],
      [3, 20],
    ])(
      'when the time scale is 0.01, then retry %i is due %i s × 0.01 after the call ended',
      (attempt, seconds) => {
        const task = givenTask({ attempt, seq: attempt, firstAttemptAt: attempt > 1 ? now : null });
        const result = answered(503, now + 1000);

        const decision = afterWebhookAttempt(task, result, healthy, deps({ timeScale: 0.01 }));

        expect(decision.retry?.dueAt).toBe(result.finishedAt + seconds * SECOND * 0.01);
        expect(decision.events[0]?.nextAttemptAt).toBe(decision.retry?.dueAt);
      },
    );

    it('when its Retry-After is later than the scheduled delay, then the Retry-After wins, unscaled', () => {
      const result = answered(503, now, { retryAfterMs: 30 * SECOND });

      const decision = afterWebhookAttempt(givenTask(), result, healthy, deps({ timeScale: 0.01 }));

      expect(decision.retry?.dueAt).toBe(result.finishedAt + 30 * SECOND);
      expect(decision.events[0]?.nextAttemptAt).toBe(result.finishedAt + 30 * SECOND);
    });

    it('when its Retry-After is sooner than the scheduled delay, then the schedule wins', () => {
      const result = answered(503, now, { retryAfterMs: 2 * SECOND });
      const decision = afterWebhookAttempt(givenTask(), result, healthy, deps());
      expect(decision.retry?.dueAt).toBe(result.finishedAt + 5 * SECOND);
    });
  });

  describe('given no answer came (timeout)', () => {
    it('then it is retried like a 5xx, with the error and no log', () => {
      const result: WebhookCallResult = {
        ok: false,
        status: null,
        error: { code: 'timeout', message: 'no answer within 15 s' },
        retryAfterMs: null,
        log: null,
        startedAt: now,
        finishedAt: now + 15 * SECOND,
      };

      const decision = afterWebhookAttempt(givenTask(), result, healthy, deps());

      expect(decision.events[0]).toMatchObject({
        type: 'attempted',
        log: null,
        error: result.error,
      });
      expect(decision.retry?.dueAt).toBe(result.finishedAt + 5 * SECOND);
    });
  });

  describe('given every attempt fails at once (time scale 1)', () => {
    /** Runs the whole schedule; the endpoint's failingSince is carried as the worker would. */
    function playOut() {
      const delays: number[] = [];
      const starts: number[] = [];
      const decisions: AttemptDecision[] = [];
      const d = deps();
      let endpoint: EndpointState = healthy;
      let task: WebhookDeliveryTask | null = newDelivery(fields, now, d.newId).task;
      while (task) {
        starts.push(task.dueAt);
        const result = answered(503, task.dueAt, { finishedAt: task.dueAt });
        const decision = afterWebhookAttempt(task, result, endpoint, d);
        decisions.push(decision);
        if (decision.failingSince !== undefined) {
          endpoint = { ...endpoint, failingSince: decision.failingSince };
        }
        if (decision.retry) delays.push(decision.retry.dueAt - result.finishedAt);
        task = decision.retry;
        if (decisions.length > 400) throw new Error('the schedule never ended');
      }
      return { delays, starts, decisions, endpoint };
    }

    it('then exactly 296 attempts are made and the 296th ends the delivery failed', () => {
      const { decisions } = playOut();

      expect(decisions).toHaveLength(296);
      decisions.slice(0, 295).forEach((decision, i) => {
        expect(decision.events.map((e) => e.type)).toEqual(['attempted']);
        expect(decision.events[0]).toMatchObject({ attempt: i + 1, seq: i + 2 });
        expect(decision.disable).toBeNull();
      });
      const last = decisions[295];
      expect(last?.retry).toBeNull();
      expect(last?.disable).toBeNull();
      expect(last?.events).toHaveLength(1);
      expect(last?.events[0]).toMatchObject({
        type: 'failed',
        status: 'failed',
        attempt: 296,
        seq: 297,
        reason: 'retries exhausted after 296 attempts',
      });
    });

    it('then the delays are 5, 10, 20, 40, 60, 120, 240, 480, 720, 900 s, then 900 s each', () => {
      const { delays } = playOut();

      expect(delays).toHaveLength(295);
      expect(delays.slice(0, 10)).toEqual(
        [5, 10, 20, 40, 60, 120, 240, 480, 720, 900].map((s) => s * SECOND),
      );
      expect(new Set(delays.slice(10))).toEqual(new Set([900 * SECOND]));
    });

    it('then the 296th attempt starts 259,095 s after the first', () => {
      const { starts } = playOut();
      expect(starts).toHaveLength(296);
      expect(starts[0]).toBe(now);
      expect((starts[295] ?? NaN) - (starts[0] ?? NaN)).toBe(259_095 * SECOND);
    });

    it('then the run of failures starts at the first attempt, and 3 days are not 5 (never disabled)', () => {
      const { decisions, endpoint } = playOut();
      expect(decisions[0]).toHaveProperty('failingSince', now);
      expect(decisions.slice(1).every((d) => !('failingSince' in d))).toBe(true);
      expect(endpoint.failingSince).toBe(now);
    });
  });

  describe('given the endpoint answers 410 Gone', () => {
    it('then failed, the endpoint_disabled notice (no delivery, seq 0), disable gone, no retry', () => {
      const result = answered(410, now);

      const decision = afterWebhookAttempt(givenTask({ seq: 3 }), result, healthy, deps());

      expect(decision.retry).toBeNull();
      expect(decision.disable).toEqual({ reason: 'gone', message: expect.any(String) });
      expect(decision.events.map((e) => e.type)).toEqual(['failed', 'endpoint_disabled']);
      expect(decision.events[0]).toMatchObject({
        deliveryId: 'msg_d1',
        status: 'failed',
        seq: 4,
        attempt: 1,
        log: result.log,
        reason: expect.stringContaining('410'),
      });
      expect(decision.events[1]).toMatchObject({
        deliveryId: null,
        endpointId: 'ep-1',
        tenantId: 't-1',
        seq: 0,
        status: null,
        run: 0,
        attempt: 0,
        messageId: null,
        occurredAt: result.finishedAt,
        reason: decision.disable?.message,
      });
    });
  });

  describe('given the endpoint has been failing (the 5-day rule)', () => {
    it.each([1, 0.001])(
      'when for 5 days × time scale %p, then failed and endpoint_disabled with reason failing',
      (timeScale) => {
        const result = answered(503, now);
        const endpoint = {
          ...healthy,
          failingSince: result.finishedAt - FAILING_DISABLES_AFTER_MS * timeScale,
        };

        const decision = afterWebhookAttempt(givenTask(), result, endpoint, deps({ timeScale }));

        expect(decision.retry).toBeNull();
        expect(decision.disable).toEqual({ reason: 'failing', message: expect.any(String) });
        expect(decision.events.map((e) => e.type)).toEqual(['failed', 'endpoint_disabled']);
        expect(decision.events[1]).toMatchObject({ deliveryId: null, seq: 0 });
        expect('failingSince' in decision).toBe(false);
      },
    );

    it('when the failures began now − 5 days measured from startedAt, then it is disabled too', () => {
      // The call itself took 42 ms: finishedAt is past the 5 days.
      const result = answered(503, now);
      const endpoint = { ...healthy, failingSince: now - 5 * DAY };
      const decision = afterWebhookAttempt(givenTask(), result, endpoint, deps());
      expect(decision.disable?.reason).toBe('failing');
    });

    it.each([1, 0.001])(
      'when for just under 5 days × time scale %p, then another retry',
      (timeScale) => {
        const result = answered(503, now);
        const endpoint = {
          ...healthy,
          failingSince: result.finishedAt - FAILING_DISABLES_AFTER_MS * timeScale + 1,
        };

        const decision = afterWebhookAttempt(givenTask(), result, endpoint, deps({ timeScale }));

        expect(decision.disable).toBeNull();
        expect(decision.events.map((e) => e.type)).toEqual(['attempted']);
        expect(decision.retry).toMatchObject({ attempt: 2 });
      },
    );
  });
});

describe('droppedDelivery', () => {
  it('given a task for a disabled endpoint, then a dropped event with the reason and no call', () => {
    const event = droppedDelivery(
      givenTask({ seq: 1 }),
      'the endpoint is disabled',
      now,
      counter(),
    );
    expect(event).toMatchObject({
      type: 'dropped',
      status: 'dropped',
      seq: 2,
      run: 1,
      attempt: 0,
      occurredAt: now,
      reason: 'the endpoint is disabled',
      log: null,
      error: null,
      deliveryId: 'msg_d1',
    });
  });
});

describe('resentDelivery', () => {
  it('given a finished delivery, then resent (pending) and run + 1 from attempt 1, the seq going on', () => {
    const finished = { ...fields, run: 1, seq: 12 };

    const { event, task } = resentDelivery(finished, now, counter());

    expect(event).toMatchObject({
      type: 'resent',
      status: 'pending',
      seq: 13,
      run: 2,
      attempt: 0,
      occurredAt: now,
      deliveryId: 'msg_d1',
      reason: null,
    });
    expect(task).toEqual({
      ...fields,
      run: 2,
      attempt: 1,
      seq: 13,
      firstAttemptAt: null,
      dueAt: now,
    });
  });
});

describe('the deliveries projection', () => {
  /** created → attempted (503) → succeeded, as the worker would record them. */
  function history(): WebhookDeliveryEvent[] {
    const d = deps();
    const created = newDelivery(fields, now, d.newId);
    const first = afterWebhookAttempt(created.task, answered(503, now), healthy, d);
    const retry = first.retry as WebhookDeliveryTask;
    const second = afterWebhookAttempt(
      retry,
      answered(200, retry.dueAt),
      { ...healthy, failingSince: now },
      d,
    );
    return [created.event, ...first.events, ...second.events];
  }

  function fold(events: readonly WebhookDeliveryEvent[]): DeliverySnapshot[] {
    const snapshots: DeliverySnapshot[] = [];
    let previous: DeliverySnapshot | null = null;
    for (const event of events) {
      const next = nextSnapshot(previous, event);
      if (next) snapshots.push((previous = next));
    }
    return snapshots;
  }

  it('given created → attempted (503) → succeeded, then 2 attempts, succeeded, last status 200, finished, the body on the first snapshot only', () => {
    const events = history();
    const snapshots = fold(events);

    expect(snapshots.map((s) => s._id)).toEqual(['msg_d1:1', 'msg_d1:2', 'msg_d1:3']);
    expect(snapshots[0]).toMatchObject({
      status: 'pending',
      attempts: 0,
      payload: PAYLOAD,
      createdAt: now,
      finishedAt: null,
      lastResponseStatus: null,
    });
    expect(snapshots[1]).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastResponseStatus: 503,
      lastResponseBody: 'busy',
      lastError: { code: 'http_503', message: 'the endpoint answered 503' },
      nextAttemptAt: events[1]?.nextAttemptAt,
      finishedAt: null,
    });
    const last = events[2] as WebhookDeliveryEvent;
    expect(snapshots[2]).toMatchObject({
      deliveryId: 'msg_d1',
      tenantId: 't-1',
      endpointId: 'ep-1',
      messageId: 'm-1',
      seq: 3,
      status: 'succeeded',
      run: 1,
      attempts: 2,
      lastResponseStatus: 200,
      lastResponseBody: 'thanks',
      lastError: null,
      nextAttemptAt: null,
      // The body is kept on the first snapshot only.
      payload: null,
      createdAt: now,
      updatedAt: last.occurredAt,
      finishedAt: last.occurredAt,
      last: { type: 'succeeded', attempt: 2, run: 1, occurredAt: last.occurredAt },
    });
  });

  it('given a replayed event (seq at or below the last), then no snapshot', () => {
    const events = history();
    const snapshots = fold(events);
    const latest = snapshots[2] as DeliverySnapshot;
    expect(nextSnapshot(latest, events[2] as WebhookDeliveryEvent)).toBeNull();
    expect(nextSnapshot(latest, events[1] as WebhookDeliveryEvent)).toBeNull();
  });

  it('given an endpoint notice, then no snapshot', () => {
    const decision = afterWebhookAttempt(givenTask(), answered(410, now), healthy, deps());
    const notice = decision.events[1] as WebhookDeliveryEvent;
    expect(notice.type).toBe('endpoint_disabled');
    expect(nextSnapshot(null, notice)).toBeNull();
    const snapshots = fold(history());
    expect(nextSnapshot(snapshots[2] ?? null, notice)).toBeNull();
  });

  it('given a failed delivery is resent, then the reason is cleared and it is pending again', () => {
    const d = deps();
    const created = newDelivery(fields, now, d.newId);
    const gone = afterWebhookAttempt(created.task, answered(410, now), healthy, d);
    const failedEvent = gone.events[0] as WebhookDeliveryEvent;
    const failed = fold([created.event, failedEvent]);
    const failedSnapshot = failed[1] as DeliverySnapshot;
    expect(failedSnapshot).toMatchObject({ status: 'failed', reason: expect.any(String) });
    expect(failedSnapshot.finishedAt).toBe(failedEvent.occurredAt);

    const resent = resentDelivery({ ...created.task, seq: failedEvent.seq }, now + DAY, d.newId);
    const snapshot = nextSnapshot(failedSnapshot, resent.event);

    expect(snapshot).toMatchObject({
      seq: 3,
      status: 'pending',
      run: 2,
      reason: null,
      finishedAt: null,
      attempts: 1,
      payload: null,
      updatedAt: now + DAY,
      last: { type: 'resent', log: null },
    });
  });

  it('latestSnapshots picks the highest seq of each delivery, whatever the order', () => {
    const one = fold(history());
    const other = fold(history().map((event) => ({ ...event, deliveryId: 'msg_d2' }))).slice(0, 2);
    const mixed = [one[1], other[1], one[2], other[0], one[0]] as DeliverySnapshot[];

    const latest = latestSnapshots(mixed);

    expect(latest).toHaveLength(2);
    expect(latest.find((s) => s.deliveryId === 'msg_d1')?._id).toBe('msg_d1:3');
    expect(latest.find((s) => s.deliveryId === 'msg_d2')?._id).toBe('msg_d2:2');
  });

  it('toApiDelivery shows the delivery with ISO times and no storage bookkeeping', () => {
    const events = history();
    const snapshot = fold(events)[2] as DeliverySnapshot;
    const finished = events[2]?.occurredAt as number;

    expect(toApiDelivery(snapshot)).toEqual({
      id: 'msg_d1',
      endpointId: 'ep-1',
      messageId: 'm-1',
      messageEventId: 'me-1',
      eventType: 'message.sent',
      status: 'succeeded',
      run: 1,
      attempts: 2,
      lastResponseStatus: 200,
      lastResponseBody: 'thanks',
      lastError: null,
      reason: null,
      nextAttemptAt: null,
      createdAt: new Date(now).toISOString(),
      updatedAt: new Date(finished).toISOString(),
      finishedAt: new Date(finished).toISOString(),
    });
  });

  it('toApiAttempt shows the call: request, response, headers as maps, duration, ISO time', () => {
    const events = history();
    const snapshot = fold(events)[1] as DeliverySnapshot;

    expect(toApiAttempt(snapshot)).toEqual({
      seq: 2,
      run: 1,
      attempt: 1,
      outcome: 'attempted',
      occurredAt: new Date(now + 42).toISOString(),
      request: {
        method: 'POST',
        url: 'https://hooks.example.test/in',
        headers: { 'content-type': 'application/json', 'webhook-id': 'msg_d1' },
      },
      response: { status: 503, headers: { 'content-type': 'text/plain' }, body: 'busy' },
      durationMs: 42,
      error: { code: 'http_503', message: 'the endpoint answered 503' },
    });
  });

  it('toApiAttempt of an event with no call gives null request, response and duration', () => {
    const created = fold(history())[0] as DeliverySnapshot;
    expect(toApiAttempt(created)).toEqual({
      seq: 1,
      run: 1,
      attempt: 0,
      outcome: 'created',
      occurredAt: new Date(now).toISOString(),
      request: null,
      response: null,
      durationMs: null,
      error: null,
    });
  });
});
