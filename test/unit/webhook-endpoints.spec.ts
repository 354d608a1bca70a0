import { EVENT_TYPES } from '@herald/messages';
import type { ApiEvent, ApiMessage } from '@herald/read-model';
import {
  parseEndpointInput,
  receives,
  rotatedSecrets,
  SECRET_OVERLAP_MS,
  signingSecrets,
  toApiEndpoint,
  WEBHOOK_EVENT_TYPES,
  webhookEventType,
  webhookPayload,
  type FieldProblem,
  type ParsedEndpointInput,
  type WebhookEndpoint,
} from '@herald/webhooks';

const now = 1_800_000_000_000;
const HOUR = 3600 * 1000;

function endpoint(overrides: Partial<WebhookEndpoint> = {}): WebhookEndpoint {
  return {
    id: 'ep-1',
    tenantId: 't-1',
    url: 'https://hooks.example.test/in',
    description: 'orders',
    eventTypes: null,
    enabled: true,
    disabledReason: null,
    disabledAt: null,
    secrets: [{ secret: 'whsec_Y3VycmVudA==', expiresAt: null }],
    failingSince: null,
    createdAt: now - 10 * HOUR,
    updatedAt: now - HOUR,
    ...overrides,
  };
}

function problemsOf(parsed: ParsedEndpointInput): FieldProblem[] {
  if (parsed.ok) throw new Error(`expected problems, got ${JSON.stringify(parsed.value)}`);
  return parsed.problems;
}

function fieldsOf(parsed: ParsedEndpointInput): string[] {
  return problemsOf(parsed).map((p) => p.field);
}

describe('parseEndpointInput', () => {
  it('accepts a create with a url alone', () => {
    expect(parseEndpointInput({ url: 'https://hooks.example.test/in' }, 'create')).toEqual({
      ok: true,
      value: { url: 'https://hooks.example.test/in' },
    });
  });

  it('accepts a full create, http too, deduplicating eventTypes', () => {
    const parsed = parseEndpointInput(
      {
        url: 'http://hooks.example.test:8080/in?x=1',
        eventTypes: ['message.sent', 'message.delivered', 'message.sent'],
        description: 'orders',
      },
      'create',
    );
    expect(parsed).toEqual({
      ok: true,
      value: {
        url: 'http://hooks.example.test:8080/in?x=1',
        eventTypes: ['message.sent', 'message.delivered'],
        description: 'orders',
      },
    });
  });

  it('takes eventTypes null as every type, and description null as none', () => {
    expect(
      parseEndpointInput(
        { url: 'https://hooks.example.test/in', eventTypes: null, description: null },
        'create',
      ),
    ).toEqual({
      ok: true,
      value: { url: 'https://hooks.example.test/in', eventTypes: null, description: null },
    });
  });

  it.each([{}, { url: '' }, { url: 42 }, { url: null }])(
    'refuses a create without a url: %j',
    (body) => {
      expect(problemsOf(parseEndpointInput(body, 'create'))).toEqual([
        { field: 'url', problem: expect.stringContaining('required') },
      ]);
    },
  );

  it.each(['ftp://hooks.example.test/in', 'file:///etc/passwd', 'javascript:alert(1)'])(
    'refuses a url that is not http(s): %s',
    (url) => {
      expect(problemsOf(parseEndpointInput({ url }, 'create'))).toEqual([
        { field: 'url', problem: 'must be http or https' },
      ]);
    },
  );

  it('refuses what is not a URL', () => {
    expect(problemsOf(parseEndpointInput({ url: 'not a url' }, 'create'))).toEqual([
      { field: 'url', problem: 'is not a URL' },
    ]);
  });

  it.each(['https://user:pass@hooks.example.test/in', 'https://user@hooks.example.test/in'])(
    'refuses credentials in the URL: %s',
    (url) => {
      const problems = problemsOf(parseEndpointInput({ url }, 'create'));
      expect(problems).toEqual([{ field: 'url', problem: expect.stringContaining('credentials') }]);
      expect(JSON.stringify(problems)).not.toContain('pass');
    },
  );

  it('refuses an over-long url', () => {
    const url = `https://hooks.example.test/${'a'.repeat(2048)}`;
    expect(fieldsOf(parseEndpointInput({ url }, 'create'))).toEqual(['url']);
  });

  it('names the unknown eventTypes', () => {
    const problems = problemsOf(
      parseEndpointInput(
        { url: 'https://hooks.example.test/in', eventTypes: ['message.sent', 'sent', 'message.x'] },
        'create',
      ),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]?.field).toBe('eventTypes');
    expect(problems[0]?.problem).toContain('"sent"');
    expect(problems[0]?.problem).toContain('"message.x"');
    expect(problems[0]?.problem).not.toContain('"message.sent"');
  });

  it.each([[[]], ['message.sent'], [{}]])(
    'refuses eventTypes that is not a non-empty array: %j',
    (eventTypes) => {
      expect(
        problemsOf(
          parseEndpointInput({ url: 'https://hooks.example.test/in', eventTypes }, 'create'),
        ),
      ).toEqual([{ field: 'eventTypes', problem: 'must be a non-empty array, or null for all' }]);
    },
  );

  it('refuses a description that is not a string or too long', () => {
    expect(
      fieldsOf(parseEndpointInput({ url: 'https://a.example.test', description: 5 }, 'create')),
    ).toEqual(['description']);
    expect(
      fieldsOf(
        parseEndpointInput(
          { url: 'https://a.example.test', description: 'x'.repeat(501) },
          'create',
        ),
      ),
    ).toEqual(['description']);
    expect(
      parseEndpointInput({ url: 'https://a.example.test', description: 'x'.repeat(500) }, 'create')
        .ok,
    ).toBe(true);
  });

  it('names an unknown field', () => {
    expect(
      problemsOf(parseEndpointInput({ url: 'https://a.example.test', secret: 'x' }, 'create')),
    ).toEqual([{ field: 'secret', problem: 'is not a field of an endpoint' }]);
  });

  it('refuses enabled on a create, and allows it on an update', () => {
    expect(
      fieldsOf(parseEndpointInput({ url: 'https://a.example.test', enabled: false }, 'create')),
    ).toEqual(['enabled']);
    expect(parseEndpointInput({ enabled: false }, 'update')).toEqual({
      ok: true,
      value: { enabled: false },
    });
    expect(problemsOf(parseEndpointInput({ enabled: 'yes' }, 'update'))).toEqual([
      { field: 'enabled', problem: 'must be true or false' },
    ]);
  });

  it('lets an update leave out the url, but still checks one given', () => {
    expect(parseEndpointInput({}, 'update')).toEqual({ ok: true, value: {} });
    expect(parseEndpointInput({ eventTypes: ['message.bounced'] }, 'update')).toEqual({
      ok: true,
      value: { eventTypes: ['message.bounced'] },
    });
    expect(fieldsOf(parseEndpointInput({ url: 'ftp://a.example.test' }, 'update'))).toEqual([
      'url',
    ]);
  });

  it('reports every problem at once, each naming its field', () => {
    const problems = problemsOf(
      parseEndpointInput(
        { url: 'ftp://x', eventTypes: [], description: 7, enabled: 1, colour: 'red' },
        'update',
      ),
    );
    expect(problems.map((p) => p.field).sort()).toEqual(
      ['colour', 'description', 'enabled', 'eventTypes', 'url'].sort(),
    );
    for (const problem of problems) expect(problem.problem).not.toBe('');
  });

  it.each([null, [], 'https://a.example.test', 3])(
    'refuses a body that is not an object: %j',
    (body) => {
      expect(problemsOf(parseEndpointInput(body, 'create'))).toEqual([
        { field: 'body', problem: 'must be a JSON object' },
      ]);
    },
  );
});

describe('receives', () => {
  const event = { type: 'sent' as const, occurredAt: now };

  it('an enabled endpoint for every type receives what happens after it was created', () => {
    expect(receives(endpoint({ eventTypes: null }), event)).toBe(true);
    expect(receives(endpoint({ createdAt: now }), event)).toBe(true);
  });

  it('a disabled endpoint receives nothing', () => {
    expect(receives(endpoint({ enabled: false, disabledReason: 'user' }), event)).toBe(false);
  });

  it('an endpoint created after the event does not receive it', () => {
    expect(receives(endpoint({ createdAt: now + 1 }), event)).toBe(false);
  });

  it('an endpoint with a type filter receives only those types', () => {
    const filtered = endpoint({ eventTypes: ['message.delivered', 'message.bounced'] });
    expect(receives(filtered, { type: 'delivered', occurredAt: now })).toBe(true);
    expect(receives(filtered, { type: 'sent', occurredAt: now })).toBe(false);
  });
});

describe('signing secrets', () => {
  it('signingSecrets gives the current secret and a rotated-out one until it expires', () => {
    const rotated = endpoint({
      secrets: [
        { secret: 'whsec_bmV3', expiresAt: null },
        { secret: 'whsec_b2xk', expiresAt: now + 1 },
        { secret: 'whsec_b2xkZXI=', expiresAt: now },
      ],
    });
    expect(signingSecrets(rotated, now)).toEqual(['whsec_bmV3', 'whsec_b2xk']);
    expect(signingSecrets(rotated, now + 1)).toEqual(['whsec_bmV3']);
  });

  it('rotatedSecrets puts the new one first, the previous for 24 h more, and drops older ones', () => {
    const before = endpoint({
      secrets: [
        { secret: 'whsec_Y3VycmVudA==', expiresAt: null },
        { secret: 'whsec_b2xk', expiresAt: now + HOUR },
      ],
    });

    const after = rotatedSecrets(before, 'whsec_bmV3', now);

    expect(after).toEqual([
      { secret: 'whsec_bmV3', expiresAt: null },
      { secret: 'whsec_Y3VycmVudA==', expiresAt: now + 24 * HOUR },
    ]);
    expect(SECRET_OVERLAP_MS).toBe(24 * HOUR);
  });

  it('rotatedSecrets of an endpoint with no current secret gives the new one alone', () => {
    const before = endpoint({ secrets: [{ secret: 'whsec_b2xk', expiresAt: now + HOUR }] });
    expect(rotatedSecrets(before, 'whsec_bmV3', now)).toEqual([
      { secret: 'whsec_bmV3', expiresAt: null },
    ]);
  });
});

describe('webhook event types', () => {
  it('are message. + each message event type, in order', () => {
    expect(WEBHOOK_EVENT_TYPES).toEqual(EVENT_TYPES.map((type) => `message.${type}`));
    expect(WEBHOOK_EVENT_TYPES).toContain('message.delivered');
    expect(webhookEventType('not_sent')).toBe('message.not_sent');
  });
});

describe('webhookPayload', () => {
  const message: ApiMessage = {
    id: 'm-1',
    tenantId: 't-1',
    status: 'sent',
    channel: 'webhook',
    provider: 'webhook',
    providers: [],
    recipient: 'https://example.test/x',
    retryPolicy: 'webhook',
    metadata: { k: 'v' },
    providerMessageId: null,
    attempts: 1,
    maxAttempts: 297,
    statusChecks: 0,
    lastError: null,
    nextAttemptAt: null,
    requestedAt: '2027-01-15T08:00:00.000Z',
    queuedAt: '2027-01-15T08:00:00.000Z',
    firstAttemptAt: '2027-01-15T08:00:01.000Z',
    lastAttemptAt: '2027-01-15T08:00:01.000Z',
    sentAt: '2027-01-15T08:00:02.000Z',
    deliveredAt: null,
    undeliveredAt: null,
    bouncedAt: null,
    notSentAt: null,
    canceledAt: null,
    resends: 0,
    createdAt: '2027-01-15T08:00:00.000Z',
    updatedAt: '2027-01-15T08:00:02.000Z',
    actions: { cancel: false, resend: false },
  };
  const event: ApiEvent = {
    id: 'me-3',
    messageId: 'm-1',
    seq: 3,
    type: 'sent',
    status: 'sent',
    attempt: 1,
    maxAttempts: 297,
    occurredAt: '2027-01-15T08:00:02.000Z',
    nextAttemptAt: null,
    providerMessageId: null,
    provider: 'webhook',
    failover: null,
    error: null,
  };

  it('is {type, timestamp, data: {...message, event}} as JSON', () => {
    const body = webhookPayload(message, event);
    expect(typeof body).toBe('string');
    expect(JSON.parse(body)).toEqual({
      type: 'message.sent',
      timestamp: '2027-01-15T08:00:02.000Z',
      data: { ...message, event },
    });
    expect(Object.keys(JSON.parse(body) as object)).toEqual(['type', 'timestamp', 'data']);
  });
});

describe('toApiEndpoint', () => {
  it('shows the endpoint with ISO times and never its secrets', () => {
    const failing = endpoint({
      enabled: false,
      disabledReason: 'failing',
      disabledAt: now,
      failingSince: now - 120 * HOUR,
      eventTypes: ['message.sent'],
      secrets: [
        { secret: 'whsec_c2VjcmV0LW9uZQ==', expiresAt: null },
        { secret: 'whsec_c2VjcmV0LXR3bw==', expiresAt: now + HOUR },
      ],
    });

    const shown = toApiEndpoint(failing);

    expect(shown).toEqual({
      id: 'ep-1',
      url: 'https://hooks.example.test/in',
      description: 'orders',
      eventTypes: ['message.sent'],
      enabled: false,
      disabledReason: 'failing',
      disabledAt: new Date(now).toISOString(),
      failingSince: new Date(now - 120 * HOUR).toISOString(),
      createdAt: new Date(now - 10 * HOUR).toISOString(),
      updatedAt: new Date(now - HOUR).toISOString(),
    });
    expect(JSON.stringify(shown)).not.toContain('whsec_');
    expect(shown).not.toHaveProperty('secrets');
    expect(shown).not.toHaveProperty('tenantId');
  });

  it('shows null for times it has none of', () => {
    expect(toApiEndpoint(endpoint())).toMatchObject({ disabledAt: null, failingSince: null });
  });
});
